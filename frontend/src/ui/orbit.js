/**
 * Orbit playback: the camera sweeps left and right around the face, one render per frame.
 *
 * `playOrbit(renderFrame)` calls `renderFrame(yaw, signal)` for the yaws of a
 * sine sweep, one after the other (a frame is shown before the next one is
 * asked for, so a slow server just plays slower), at most `fps` frames a
 * second, until the returned stop function is called.
 */

import { isAbort } from "./errors.js";

/** `frames` yaw angles (radians) of one sweep: amplitude·sin over a full period. */
export function orbitYaws(frames, amplitude) {
  return Array.from({ length: frames }, (_, i) => amplitude * Math.sin((2 * Math.PI * i) / frames));
}

/**
 * Start playing; returns `stop()`. `onError(error)` is called once if a frame
 * fails (playback stops then).
 */
export function playOrbit(renderFrame, onError, { frames = 24, amplitude = 0.6, fps = 12 } = {}) {
  const controller = new AbortController();
  const yaws = orbitYaws(frames, amplitude);
  const interval = 1000 / fps;
  (async () => {
    for (let i = 0; !controller.signal.aborted; i = (i + 1) % frames) {
      const started = performance.now();
      try {
        await renderFrame(yaws[i], controller.signal);
      } catch (error) {
        if (!isAbort(error) && !controller.signal.aborted) onError(error);
        return;
      }
      const wait = interval - (performance.now() - started);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  })();
  return () => controller.abort();
}
