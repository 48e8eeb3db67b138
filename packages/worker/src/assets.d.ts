// Vite's `?url` imports: the module's default export is the URL the asset is served from
// (Vite copies the file into the build with a content hash). Declared here because the
// package compiles with `types: []`, which leaves out vite/client.
declare module '*?url' {
  const url: string;
  export default url;
}
