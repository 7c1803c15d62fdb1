/**
 * Undo / redo of label edits, stored as diffs within a memory budget.
 *
 * Each edit is kept as the pixels it changed: row-major indices plus the old
 * and new class ids (6 bytes per changed pixel), not as whole label maps. An
 * edit is recorded either from two maps (`push(before, after)`) or as a
 * transaction around many paints (`begin(labels)`, paint into `labels`,
 * `commit(labels)`), which is how a brush stroke becomes one undo step.
 * A new edit clears the redo stack. When the stored diffs exceed the budget the
 * oldest undo steps are forgotten; the newest edit is always kept.
 */

import { changedIndices, checkSameSize, rectOfIndices } from "./labelBuffer.js";

/** Bytes of memory per changed pixel: a Uint32 index and two Uint8 class ids. */
const BYTES_PER_CHANGE = 6;

/** Undo and redo stacks of label-map diffs. */
export class EditHistory {
  #undo = [];
  #redo = [];
  #bytes = 0;
  #before = null;

  /** @param {number} budgetBytes most bytes the stored diffs may take (default 32 MiB) */
  constructor(budgetBytes = 32 * 1024 * 1024) {
    if (!(budgetBytes > 0)) throw new RangeError(`history budget must be positive, got ${budgetBytes}`);
    this.budgetBytes = budgetBytes;
  }

  /** True when there is an edit to undo. */
  get canUndo() {
    return this.#undo.length > 0;
  }

  /** True when there is an undone edit to redo. */
  get canRedo() {
    return this.#redo.length > 0;
  }

  /** Bytes the stored diffs take now. */
  get bytesUsed() {
    return this.#bytes;
  }

  /** True between `begin` and `commit`. */
  get inTransaction() {
    return this.#before !== null;
  }

  /**
   * Record the edit that turned `before` into `after` (same size). An edit that
   * changes nothing is not recorded. Returns true when one was recorded.
   */
  push(before, after) {
    checkSameSize(before, after);
    const indices = changedIndices(before, after);
    if (indices.length === 0) return false;
    const oldIds = new Uint8Array(indices.length);
    const newIds = new Uint8Array(indices.length);
    indices.forEach((i, k) => {
      oldIds[k] = before.data[i];
      newIds[k] = after.data[i];
    });
    const edit = {
      width: after.width,
      height: after.height,
      indices,
      oldIds,
      newIds,
      rect: rectOfIndices(indices, after.width),
      bytes: indices.length * BYTES_PER_CHANGE,
    };
    this.#dropAll(this.#redo);
    this.#undo.push(edit);
    this.#bytes += edit.bytes;
    this.#enforceBudget();
    return true;
  }

  /** Start a transaction: remember `labels` as they are before the paints that follow. */
  begin(labels) {
    if (this.#before) throw new Error("an edit transaction is already open; commit it first");
    this.#before = labels.copy();
  }

  /** Close the transaction: record everything that changed in `labels` since `begin`. */
  commit(labels) {
    if (!this.#before) throw new Error("no edit transaction is open");
    const before = this.#before;
    this.#before = null;
    return this.push(before, labels);
  }

  /**
   * Revert the newest edit in `labels`. Returns the rectangle that changed
   * ({x, y, width, height}), or null when there was nothing to undo.
   */
  undo(labels) {
    const edit = this.#undo.at(-1);
    if (!edit) return null;
    applyIds(labels, edit, edit.oldIds);
    this.#redo.push(this.#undo.pop());
    return edit.rect;
  }

  /** Re-apply the newest undone edit to `labels`; the changed rectangle, or null. */
  redo(labels) {
    const edit = this.#redo.at(-1);
    if (!edit) return null;
    applyIds(labels, edit, edit.newIds);
    this.#undo.push(this.#redo.pop());
    return edit.rect;
  }

  /** Forget every edit and any open transaction (e.g. on reset to the prediction). */
  clear() {
    this.#dropAll(this.#undo);
    this.#dropAll(this.#redo);
    this.#before = null;
  }

  #dropAll(stack) {
    for (const edit of stack) this.#bytes -= edit.bytes;
    stack.length = 0;
  }

  #enforceBudget() {
    while (this.#bytes > this.budgetBytes && this.#undo.length > 1) {
      this.#bytes -= this.#undo.shift().bytes;
    }
  }
}

function applyIds(labels, edit, ids) {
  if (labels.width !== edit.width || labels.height !== edit.height) {
    throw new RangeError(
      `this edit was made on a ${edit.width}×${edit.height} mask, not ${labels.width}×${labels.height}`,
    );
  }
  const { indices } = edit;
  for (let k = 0; k < indices.length; k++) labels.data[indices[k]] = ids[k];
}
