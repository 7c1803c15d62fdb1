// Undo / redo of label edits as diffs with a memory budget.
import assert from "node:assert/strict";
import test from "node:test";

import { EditHistory } from "../../frontend/src/mask/history.js";
import { LabelBuffer } from "../../frontend/src/mask/labelBuffer.js";

/** Paint class `cls` on the pixels `indices` of a copy of `labels`; returns the copy. */
function painted(labels, indices, cls) {
  const next = labels.copy();
  for (const i of indices) next.data[i] = cls;
  return next;
}

test("undo and redo walk back and forth through pushed edits", () => {
  const history = new EditHistory();
  const s0 = new LabelBuffer(4, 4);
  const s1 = painted(s0, [0, 1, 2], 1);
  const s2 = painted(s1, [1, 5, 15], 2);
  history.push(s0, s1);
  history.push(s1, s2);
  const labels = s2.copy();
  assert.ok(history.canUndo);
  assert.ok(!history.canRedo);

  assert.deepEqual(history.undo(labels), { x: 1, y: 0, width: 3, height: 4 });
  assert.ok(labels.equals(s1));
  history.undo(labels);
  assert.ok(labels.equals(s0));
  assert.ok(!history.canUndo);
  assert.equal(history.undo(labels), null);
  assert.ok(labels.equals(s0));

  assert.deepEqual(history.redo(labels), { x: 0, y: 0, width: 3, height: 1 });
  assert.ok(labels.equals(s1));
  history.redo(labels);
  assert.ok(labels.equals(s2));
  assert.ok(!history.canRedo);
  assert.equal(history.redo(labels), null);
});

test("an edit that changes nothing is not recorded", () => {
  const history = new EditHistory();
  const labels = new LabelBuffer(3, 3);
  assert.equal(history.push(labels, labels.copy()), false);
  assert.ok(!history.canUndo);
});

test("a transaction records many paints as one undo step", () => {
  const history = new EditHistory();
  const labels = new LabelBuffer(5, 5);
  const start = labels.copy();
  history.begin(labels);
  assert.ok(history.inTransaction);
  labels.set(0, 0, 1);
  labels.set(1, 0, 1);
  labels.set(0, 0, 3); // overwritten within the stroke: the diff keeps only first-old → last-new
  labels.set(4, 4, 2);
  assert.equal(history.commit(labels), true);
  const end = labels.copy();
  assert.ok(!history.inTransaction);
  assert.equal(history.bytesUsed, 3 * 6);

  history.undo(labels);
  assert.ok(labels.equals(start));
  assert.ok(!history.canUndo);
  history.redo(labels);
  assert.ok(labels.equals(end));
});

test("transactions cannot nest or commit unopened", () => {
  const history = new EditHistory();
  const labels = new LabelBuffer(2, 2);
  assert.throws(() => history.commit(labels), /no edit transaction/);
  history.begin(labels);
  assert.throws(() => history.begin(labels), /already open/);
});

test("a new edit after undo drops the redo branch", () => {
  const history = new EditHistory();
  const s0 = new LabelBuffer(3, 3);
  const s1 = painted(s0, [0], 1);
  const s2 = painted(s1, [1], 1);
  history.push(s0, s1);
  history.push(s1, s2);
  const labels = s2.copy();
  history.undo(labels);
  assert.ok(history.canRedo);
  const branch = painted(labels, [8], 2);
  history.push(labels, branch);
  labels.copyFrom(branch);
  assert.ok(!history.canRedo);
  assert.equal(history.redo(labels), null);
  history.undo(labels);
  assert.ok(labels.equals(s1));
  history.undo(labels);
  assert.ok(labels.equals(s0));
});

test("the budget forgets the oldest edits first but always keeps the newest", () => {
  const history = new EditHistory(40); // room for 6 changed pixels (6 bytes each)
  const s0 = new LabelBuffer(10, 10);
  const s1 = painted(s0, [0, 1, 2], 1); // 18 bytes
  const s2 = painted(s1, [3, 4], 2); // 12 bytes
  const s3 = painted(s2, [5, 6], 3); // 12 bytes → 42 > 40: s0→s1 is dropped
  history.push(s0, s1);
  history.push(s1, s2);
  assert.equal(history.bytesUsed, 30);
  history.push(s2, s3);
  assert.equal(history.bytesUsed, 24);
  const labels = s3.copy();
  history.undo(labels);
  history.undo(labels);
  assert.ok(labels.equals(s1));
  assert.ok(!history.canUndo);

  const big = painted(s3, Array.from({ length: 50 }, (_, i) => 50 + i), 4); // 300 bytes alone
  history.push(s3, big);
  assert.equal(history.bytesUsed, 300);
  const again = big.copy();
  history.undo(again);
  assert.ok(again.equals(s3));
});

test("clear forgets everything, including an open transaction", () => {
  const history = new EditHistory();
  const s0 = new LabelBuffer(3, 3);
  history.push(s0, painted(s0, [4], 1));
  history.undo(s0.copy());
  history.push(s0, painted(s0, [5], 1));
  history.begin(s0);
  history.clear();
  assert.ok(!history.canUndo);
  assert.ok(!history.canRedo);
  assert.ok(!history.inTransaction);
  assert.equal(history.bytesUsed, 0);
});

test("undo refuses a map of another size", () => {
  const history = new EditHistory();
  const s0 = new LabelBuffer(3, 3);
  history.push(s0, painted(s0, [4], 1));
  assert.throws(() => history.undo(new LabelBuffer(4, 4)), RangeError);
  assert.ok(history.canUndo); // the edit is still there for the right map
  const labels = painted(s0, [4], 1);
  history.undo(labels);
  assert.ok(labels.equals(s0));
});
