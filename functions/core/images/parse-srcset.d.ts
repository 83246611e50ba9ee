// parse-srcset ships no types; discover.ts uses its one export.
declare module 'parse-srcset' {
  /** The HTML standard's srcset parser: `w` width, `d` density, `h` (future-compat) height. */
  function parseSrcset(input: string): { url: string; w?: number; d?: number; h?: number }[];
  export = parseSrcset;
}
