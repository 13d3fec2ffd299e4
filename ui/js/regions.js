// The 21 regions and their place on the wall's tile map.
//
// Equal tiles rather than a geographic map: Gotland (61,000 people) must be as visible as
// Stockholm (2.5 million). Positions follow Sweden's shape on a 4 x 8 grid: Norrbotten at
// the top right, Skåne at the bottom, Gotland east of Kalmar "in the sea" (the CSS gives it a
// gap). The empty top-left corner holds the legend.

/** @typedef {{code: string, letters: string, name: string, short: string, col: number, row: number}} Region */

/** @type {readonly Region[]} */
export const REGIONS = Object.freeze([
  { code: "25", letters: "BD", name: "Region Norrbotten", short: "Norrbotten", col: 3, row: 0 },
  { code: "24", letters: "AC", name: "Region Västerbotten", short: "Västerbotten", col: 2, row: 1 },
  { code: "23", letters: "Z", name: "Region Jämtland Härjedalen", short: "Jämtland Härj.", col: 1, row: 2 },
  { code: "22", letters: "Y", name: "Region Västernorrland", short: "Västernorrland", col: 2, row: 2 },
  { code: "20", letters: "W", name: "Region Dalarna", short: "Dalarna", col: 1, row: 3 },
  { code: "21", letters: "X", name: "Region Gävleborg", short: "Gävleborg", col: 2, row: 3 },
  { code: "17", letters: "S", name: "Region Värmland", short: "Värmland", col: 0, row: 4 },
  { code: "18", letters: "T", name: "Region Örebro län", short: "Örebro", col: 1, row: 4 },
  { code: "19", letters: "U", name: "Region Västmanland", short: "Västmanland", col: 2, row: 4 },
  { code: "03", letters: "C", name: "Region Uppsala", short: "Uppsala", col: 3, row: 4 },
  { code: "14", letters: "O", name: "Västra Götalandsregionen", short: "Västra Götaland", col: 0, row: 5 },
  { code: "05", letters: "E", name: "Region Östergötland", short: "Östergötland", col: 1, row: 5 },
  { code: "04", letters: "D", name: "Region Sörmland", short: "Sörmland", col: 2, row: 5 },
  { code: "01", letters: "AB", name: "Region Stockholm", short: "Stockholm", col: 3, row: 5 },
  { code: "13", letters: "N", name: "Region Halland", short: "Halland", col: 0, row: 6 },
  { code: "06", letters: "F", name: "Region Jönköpings län", short: "Jönköping", col: 1, row: 6 },
  { code: "08", letters: "H", name: "Region Kalmar län", short: "Kalmar", col: 2, row: 6 },
  { code: "09", letters: "I", name: "Region Gotland", short: "Gotland", col: 3, row: 6 },
  { code: "12", letters: "M", name: "Region Skåne", short: "Skåne", col: 0, row: 7 },
  { code: "07", letters: "G", name: "Region Kronoberg", short: "Kronoberg", col: 1, row: 7 },
  { code: "10", letters: "K", name: "Region Blekinge", short: "Blekinge", col: 2, row: 7 },
]);

export const GRID_COLS = 4;
export const GRID_ROWS = 8;

/** Regions in code order: the order of lists, selects and the kiosk cycle. */
export const REGIONS_BY_CODE = Object.freeze([...REGIONS].sort((a, b) => a.code.localeCompare(b.code)));

const byCode = new Map(REGIONS.map((r) => [r.code, r]));

/** @param {string} code @returns {Region | undefined} */
export function regionByCode(code) {
  return byCode.get(code);
}

/** "region:12" -> "12"; anything else -> null. @param {string} scopeId */
export function regionCodeOfScope(scopeId) {
  const m = /^region:(\d{2})$/.exec(scopeId);
  return m ? m[1] : null;
}
