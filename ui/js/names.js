// Names for scope ids, from the reference data when it has loaded (ids otherwise).

import { regionByCode, regionCodeOfScope } from "./regions.js";

export class Names {
  constructor() {
    /** @type {Map<string, any>} */
    this.hospitals = new Map();
    /** @type {Map<string, any>} */
    this.wards = new Map();
  }

  setHospitals(list) {
    this.hospitals = new Map(list.map((x) => [x.hospital_id, x]));
  }

  setWards(list) {
    this.wards = new Map(list.map((x) => [x.ward_id, x]));
  }

  hospital(id) {
    return this.hospitals.get(id)?.name ?? id;
  }

  ward(id) {
    return this.wards.get(id)?.name ?? id;
  }

  /** @param {string} scopeId @param {import("./i18n.js").Translator} tr */
  scope(scopeId, tr) {
    if (scopeId === "nation") return tr.t("nation");
    const code = regionCodeOfScope(scopeId);
    if (code) return regionByCode(code)?.name ?? scopeId;
    if (scopeId.startsWith("hospital:")) return this.hospital(scopeId.slice(9));
    if (scopeId.startsWith("ward:")) return this.ward(scopeId.slice(5));
    return scopeId;
  }
}
