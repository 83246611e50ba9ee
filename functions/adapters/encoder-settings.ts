/**
 * The encoder's settings and the transform key they make, without sharp: the media
 * sweeper (functions/gc) needs the key the ingest function stores images under, and its
 * bundle should not carry a native image library for that.
 */
import { createHash } from 'node:crypto';
import type { EncodeSettings } from '../ports';

/** Every knob that shapes the output. Part of the transform key: changing one re-encodes. */
export const ENCODER_SETTINGS = {
  version: 1,
  webp: { quality: 80, effort: 4 },
  // effort 4 is sharp's default; higher efforts cost several times the CPU for a few % of bytes.
  avif: { quality: 50, effort: 4 },
  // mozjpeg costs about 3.5x the CPU (34% fewer bytes on the bench's grainy photos); the
  // fallback only reaches browsers without WebP, so it stays off (see README, Performance).
  jpeg: { quality: 80, progressive: true, optimiseCoding: true, mozjpeg: false },
  png: { compressionLevel: 6, adaptiveFiltering: false },
  gif: { effort: 7 },
  /** 'error' fails on truncated or broken pixel data but tolerates the harmless warnings
   *  (e.g. extraneous bytes) that many camera JPEGs carry. */
  failOn: 'error',
  /** Placeholder: a WebP data URI fitting in 16×16, which browsers upscale into a blur. */
  placeholder: { size: 16, quality: 40 },
  svgScale: 2,
} as const;

/** Names everything that decides the output for given bytes (see ImageEncoder.transformKey). */
export function transformKeyOf(settings: Pick<EncodeSettings, 'widths' | 'formats'>): string {
  const canonical = JSON.stringify({
    s: ENCODER_SETTINGS,
    w: [...new Set(settings.widths)].sort((a, b) => a - b),
    f: [...new Set(settings.formats)].sort(),
  });
  return `v${ENCODER_SETTINGS.version}-${createHash('sha256').update(canonical).digest('hex').slice(0, 12)}`;
}
