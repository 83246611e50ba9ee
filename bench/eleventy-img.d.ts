// @11ty/eleventy-img ships no types; the benchmark calls only the default export.
declare module '@11ty/eleventy-img' {
  const Image: (src: string | Buffer, options: Record<string, unknown>) => Promise<Record<string, { width: number; size: number }[]>>;
  export default Image;
}
