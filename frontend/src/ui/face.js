/**
 * The face panel: a random face, a face by seed, or one from an uploaded latent (.npy).
 * The current face's origin is described under the controls.
 */

import { createFaceFromLatent, createFaceFromSeed, getFace } from "../api/client.js";
import { errorSlot, guarded } from "./errors.js";

const MAX_SEED = 2 ** 31 - 1;

/** A sentence saying where a face record comes from. */
export function describeFace(face) {
  const origin = face.origin ?? {};
  if (origin.edit) return `Face ${face.id}, edited from face ${face.parent_id}.`;
  if (origin.seed !== undefined) return `Face ${face.id}, from seed ${origin.seed}.`;
  if (origin.upload) return `Face ${face.id}, from the latent ${origin.upload}.`;
  return `Face ${face.id}.`;
}

/**
 * @param {AppState} state
 * @param {object} el elements: random, seed, seedLoad, latent, error, info
 */
export function initFacePanel(state, el) {
  const errors = errorSlot(el.error);
  const show = (face) => state.set({ face, faceId: face.id });

  el.random.addEventListener(
    "click",
    guarded(errors, async () => {
      const seed = Math.floor(Math.random() * MAX_SEED);
      el.seed.value = String(seed);
      show(await createFaceFromSeed(seed));
    }),
  );
  el.seedLoad.addEventListener(
    "click",
    guarded(errors, async () => {
      const seed = Number(el.seed.value);
      if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
        throw new Error(`The seed must be a whole number from 0 to ${MAX_SEED}.`);
      }
      show(await createFaceFromSeed(seed));
    }),
  );
  el.latent.addEventListener(
    "change",
    guarded(errors, async () => {
      const file = el.latent.files?.[0];
      if (!file) return;
      try {
        show(await createFaceFromLatent(file));
      } finally {
        el.latent.value = "";
      }
    }),
  );
  state.on(
    "faceId",
    guarded(errors, async (faceId) => {
      const face = state.get("face")?.id === faceId ? state.get("face") : await getFace(faceId);
      el.info.textContent = describeFace(face);
    }),
  );
}
