// Table sorting: pure, stable, missing values always last whatever the direction.

/**
 * @template T
 * @param {T[]} rows
 * @param {(row: T) => string | number | null | undefined} key
 * @param {"ascending" | "descending"} direction
 * @param {(a: string, b: string) => number} [compareText]
 * @returns {T[]}
 */
export function sortRows(rows, key, direction, compareText = (a, b) => a.localeCompare(b)) {
  const sign = direction === "descending" ? -1 : 1;
  return rows
    .map((row, index) => ({ row, index, k: key(row) }))
    .sort((a, b) => {
      const aMissing = a.k == null || Number.isNaN(a.k);
      const bMissing = b.k == null || Number.isNaN(b.k);
      if (aMissing || bMissing) return aMissing === bMissing ? a.index - b.index : aMissing ? 1 : -1;
      const c = typeof a.k === "number" && typeof b.k === "number"
        ? a.k - b.k
        : compareText(String(a.k), String(b.k));
      return c !== 0 ? sign * c : a.index - b.index;
    })
    .map((x) => x.row);
}
