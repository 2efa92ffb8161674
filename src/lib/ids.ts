/**
 * Whether a string is a UUID in its canonical 8-4-4-4-12 hex form, any version, either case: how a
 * path or a stored value is checked before Postgres, which would refuse anything else as a `uuid`.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (value: string): boolean => UUID.test(value);
