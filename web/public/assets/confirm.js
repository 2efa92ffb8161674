// @ts-check
import { byId } from "./dom.js";

/**
 * One native modal <dialog> (index.html) for every destructive step: it traps focus, closes on
 * Escape (as Cancel) and starts on Cancel, so Enter alone never confirms.
 * @param {{ title: string, text: string, confirm: string }} what
 * @returns {Promise<boolean>}
 */
function confirmAction(what) {
  const dialog = byId("confirm-dialog", HTMLDialogElement);
  const yes = byId("confirm-yes", HTMLButtonElement);
  const opener = document.activeElement;
  byId("confirm-title", HTMLHeadingElement).textContent = what.title;
  byId("confirm-text", HTMLParagraphElement).textContent = what.text;
  yes.textContent = what.confirm;
  dialog.returnValue = "cancel";
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        if (opener instanceof HTMLElement) opener.focus();
        resolve(dialog.returnValue === "confirm");
      },
      { once: true },
    );
    dialog.showModal();
    byId("confirm-no", HTMLButtonElement).focus();
  });
}

/** @param {string} email */
export const confirmDelete = (email) =>
  confirmAction({
    title: "Delete this subscriber?",
    text: `${email} will be gone from reads, lists and stats. Signing up again with this email creates a new subscriber.`,
    confirm: "Delete",
  });

/** @param {string} email */
export const confirmErase = (email) =>
  confirmAction({
    title: "Forget (erase) this subscriber?",
    text: `This erases ${email} and every copy of their data: the subscriber, their operations, the personal data in their events and every cached copy. It is irreversible: it cannot be undone.`,
    confirm: "Erase permanently",
  });
