// build.mjs copies the front-end packages the dashboard loads from
// node_modules into internal/web/static/dist/, where the Go binary embeds
// them (and serves them under content-hashed URLs). Nothing it writes is
// committed. Run it after `npm ci`:
//
//	cd web && npm ci && node build.mjs
//
// The dashboard's own JavaScript and CSS are small and live, unbuilt, in
// internal/web/static/.
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const mods = join(here, "node_modules");
const out = join(here, "..", "internal", "web", "static", "dist");

// [package file, name in dist]
const files = [
  ["htmx.org/dist/htmx.min.js", "htmx.min.js"],
  ["leaflet/dist/leaflet.js", "leaflet.js"],
  ["leaflet/dist/leaflet.css", "leaflet.css"],
  ["leaflet/dist/images", "images"],
  ["leaflet.markercluster/dist/leaflet.markercluster.js", "leaflet.markercluster.js"],
  ["leaflet.markercluster/dist/MarkerCluster.css", "MarkerCluster.css"],
  ["uplot/dist/uPlot.iife.min.js", "uPlot.iife.min.js"],
  ["uplot/dist/uPlot.min.css", "uPlot.min.css"],
];

if (!existsSync(mods)) {
  console.error("web/node_modules is missing: run `npm ci` in web/ first");
  process.exit(1);
}
mkdirSync(out, { recursive: true });
// Clear earlier builds but keep the committed placeholder.
for (const name of readdirSync(out)) {
  if (name !== "README.md") rmSync(join(out, name), { recursive: true, force: true });
}
for (const [src, dst] of files) {
  const from = join(mods, src);
  if (!existsSync(from)) {
    console.error(`missing ${from}: is package-lock.json in step with package.json?`);
    process.exit(1);
  }
  cpSync(from, join(out, dst), { recursive: true });
}
// The Go side keeps a placeholder so //go:embed compiles without a build;
// this marker tells it the vendor files are really there.
writeFileSync(join(out, "BUILT"), new Date().toISOString() + "\n");
console.log(`web: ${files.length} vendor assets in ${out}`);
