// Swedish first, English by a switch that is remembered (localStorage).
// Numbers and times are formatted with Intl in the chosen locale, always in
// Europe/Stockholm time, whatever the screen's own time zone is.

export const TIME_ZONE = "Europe/Stockholm";
const STORAGE_KEY = "capmon.lang";
export const LANGUAGES = /** @type {const} */ (["sv", "en"]);
const LOCALES = { sv: "sv-SE", en: "en-GB" };

const STRINGS = {
  sv: {
    "app.title": "capmon",
    "wall.title": "Nationell lägesbild – vårdplatser",
    "region.title": "Regionens lägesbild",
    "search.title": "Lediga vårdplatser",
    "nav.wall": "Lägesbild",
    "nav.search": "Sök ledig plats",
    "lang.switch": "English",
    "lang.switch.label": "Byt språk till engelska",
    "conn.open": "Ansluten",
    "conn.connecting": "Ansluter …",
    "conn.reconnecting": "Frånkopplad – nytt försök om {s} s",
    "conn.closed": "Frånkopplad",
    "conn.label": "Anslutning",
    "data.newest": "Senaste data",
    "data.none": "Inga data än",
    "data.age": "för {age} sedan",
    "stale": "Inaktuell",
    "stale.coverage": "Låg täckning",
    "level.1": "Normal",
    "level.2": "Ansträngt",
    "level.3": "Kritiskt",
    "level.4": "Allvarligt",
    "level.label": "Nivå",
    "level.unknown": "Okänd nivå",
    "legend.title": "Belastningsnivå",
    "map.label": "Regionerna som karta",
    "legend.stale": "Inaktuella data",
    "legend.tile": "Beläggning mot mål · lediga platser · 24 h",
    "fig.available": "Disponibla vårdplatser",
    "fig.occupied": "Belagda",
    "fig.free": "Lediga",
    "fig.occupancy": "Beläggning",
    "fig.target": "mål {v}",
    "fig.overcrowded": "Överbeläggn. / 100 vpl",
    "fig.outlying": "Utlokaliserade / 100 vpl",
    "fig.coverage": "Rapporteringstäckning",
    "fig.coverage.detail": "{n} av {m} avdelningar",
    "fig.level": "Nationell nivå",
    "nation": "Riket",
    "caretypes.title": "Beläggning mot mål per vårdtyp",
    "alerts.title": "Larm",
    "alerts.none": "Inga aktiva larm",
    "alert.state.raised": "Nytt",
    "alert.state.escalated": "Skärpt",
    "alert.state.deescalated": "Lindrat",
    "alert.state.acknowledged": "Kvitterat",
    "alert.state.resolved": "Avslutat",
    "alert.rule.pressure": "Belastning",
    "alert.rule.stale": "Rapporterar inte",
    "alert.ack": "Kvittera",
    "alert.acked": "Kvitterat",
    "alert.ack.failed": "Kvitteringen misslyckades",
    "tile.free": "{n} lediga",
    "tile.target": "mål {v}",
    "tile.aria": "{name}: nivå {level} {levelName}, beläggning {occ} mot mål {target}, {free} lediga platser",
    "tile.aria.stale": "{name}: inaktuella data ({age}); senast nivå {level}, beläggning {occ}",
    "tile.nodata": "{name}: inga data",
    "spark.aria": "Beläggning senaste 24 timmarna",
    "kiosk.label": "Visas nu",
    "kiosk.hospitals": "Sjukhus",
    "caretype.all": "Alla vårdtyper",
    "caretype.somatic_acute": "Somatik, akut",
    "caretype.somatic_planned": "Somatik, planerad",
    "caretype.intensive_care": "Intensivvård",
    "caretype.psychiatry": "Psykiatri",
    "caretype.paediatric": "Barn",
    "prep.label": "Beslutat beredskapsläge",
    "prep.none": "Ej angivet",
    "prep.normallage": "Normalläge",
    "prep.stabslage": "Stabsläge",
    "prep.forstarkningslage": "Förstärkningsläge",
    "prep.katastroflage": "Katastrofläge",
    "computed.label": "Beräknad nivå",
    "col.hospital": "Sjukhus",
    "col.ward": "Avdelning",
    "col.region": "Region",
    "col.caretype": "Vårdtyp",
    "col.specialty": "Specialitet",
    "col.available": "Disponibla",
    "col.occupied": "Belagda",
    "col.free": "Lediga",
    "col.free_after_pending": "Lediga efter väntande",
    "col.occupancy": "Beläggning",
    "col.target": "Mål",
    "col.level": "Nivå",
    "col.overcrowded": "Överbel.",
    "col.outlying": "Utlok.",
    "col.pending": "Väntande",
    "col.freshness": "Data från",
    "col.time": "Tid",
    "col.scope": "Gäller",
    "col.state": "Status",
    "col.message": "Beskrivning",
    "region.hospitals": "Sjukhus",
    "region.wards": "Avdelningar",
    "region.alerts": "Larm i regionen",
    "region.caretypes": "Per vårdtyp",
    "region.back": "Till lägesbilden",
    "region.unknown": "Okänd region",
    "sort.hint": "Klicka på en kolumnrubrik för att sortera",
    "search.region": "Region",
    "search.hospital": "Sjukhus",
    "search.caretype": "Vårdtyp",
    "search.specialty": "Specialitet",
    "search.min_free": "Minst lediga",
    "search.max_staleness": "Högsta dataålder",
    "search.any": "Alla",
    "search.submit": "Sök",
    "search.results": "{n} avdelningar med lediga platser",
    "search.none": "Inga avdelningar matchar",
    "search.asof": "Svar från",
    "search.stale_min": "{n} min",
    "search.stale_any": "Ingen gräns",
    "login.title": "Logga in",
    "login.token": "Åtkomsttoken",
    "login.submit": "Logga in",
    "login.help": "Ange den token du fått. Den sparas bara i den här fliken.",
    "login.rejected": "Token avvisades. Ange en giltig token.",
    "error.load": "Kunde inte hämta data ({detail})",
  },
  en: {
    "app.title": "capmon",
    "wall.title": "National overview – hospital beds",
    "region.title": "Regional overview",
    "search.title": "Free beds",
    "nav.wall": "Overview",
    "nav.search": "Find a free bed",
    "lang.switch": "Svenska",
    "lang.switch.label": "Switch language to Swedish",
    "conn.open": "Connected",
    "conn.connecting": "Connecting …",
    "conn.reconnecting": "Disconnected – retrying in {s} s",
    "conn.closed": "Disconnected",
    "conn.label": "Connection",
    "data.newest": "Newest data",
    "data.none": "No data yet",
    "data.age": "{age} ago",
    "stale": "Out of date",
    "stale.coverage": "Low coverage",
    "level.1": "Normal",
    "level.2": "Strained",
    "level.3": "Critical",
    "level.4": "Severe",
    "level.label": "Level",
    "level.unknown": "Unknown level",
    "legend.title": "Pressure level",
    "map.label": "Map of the regions",
    "legend.stale": "Out-of-date data",
    "legend.tile": "Occupancy vs target · free beds · 24 h",
    "fig.available": "Available beds",
    "fig.occupied": "Occupied",
    "fig.free": "Free",
    "fig.occupancy": "Occupancy",
    "fig.target": "target {v}",
    "fig.overcrowded": "Overcrowded / 100 beds",
    "fig.outlying": "Outlying / 100 beds",
    "fig.coverage": "Reporting coverage",
    "fig.coverage.detail": "{n} of {m} wards",
    "fig.level": "National level",
    "nation": "Sweden",
    "caretypes.title": "Occupancy vs target by care type",
    "alerts.title": "Alerts",
    "alerts.none": "No active alerts",
    "alert.state.raised": "New",
    "alert.state.escalated": "Escalated",
    "alert.state.deescalated": "De-escalated",
    "alert.state.acknowledged": "Acknowledged",
    "alert.state.resolved": "Resolved",
    "alert.rule.pressure": "Pressure",
    "alert.rule.stale": "Not reporting",
    "alert.ack": "Acknowledge",
    "alert.acked": "Acknowledged",
    "alert.ack.failed": "Acknowledgement failed",
    "tile.free": "{n} free",
    "tile.target": "target {v}",
    "tile.aria": "{name}: level {level} {levelName}, occupancy {occ} against target {target}, {free} free beds",
    "tile.aria.stale": "{name}: out-of-date data ({age}); last level {level}, occupancy {occ}",
    "tile.nodata": "{name}: no data",
    "spark.aria": "Occupancy over the last 24 hours",
    "kiosk.label": "Now showing",
    "kiosk.hospitals": "Hospitals",
    "caretype.all": "All care types",
    "caretype.somatic_acute": "Somatic, acute",
    "caretype.somatic_planned": "Somatic, planned",
    "caretype.intensive_care": "Intensive care",
    "caretype.psychiatry": "Psychiatry",
    "caretype.paediatric": "Paediatrics",
    "prep.label": "Declared preparedness",
    "prep.none": "Not declared",
    "prep.normallage": "Normal",
    "prep.stabslage": "Staff alert",
    "prep.forstarkningslage": "Reinforcement",
    "prep.katastroflage": "Disaster",
    "computed.label": "Computed level",
    "col.hospital": "Hospital",
    "col.ward": "Ward",
    "col.region": "Region",
    "col.caretype": "Care type",
    "col.specialty": "Specialty",
    "col.available": "Available",
    "col.occupied": "Occupied",
    "col.free": "Free",
    "col.free_after_pending": "Free after pending",
    "col.occupancy": "Occupancy",
    "col.target": "Target",
    "col.level": "Level",
    "col.overcrowded": "Overcr.",
    "col.outlying": "Outlying",
    "col.pending": "Pending",
    "col.freshness": "Data from",
    "col.time": "Time",
    "col.scope": "Scope",
    "col.state": "State",
    "col.message": "Description",
    "region.hospitals": "Hospitals",
    "region.wards": "Wards",
    "region.alerts": "Alerts in the region",
    "region.caretypes": "By care type",
    "region.back": "Back to the overview",
    "region.unknown": "Unknown region",
    "sort.hint": "Click a column header to sort",
    "search.region": "Region",
    "search.hospital": "Hospital",
    "search.caretype": "Care type",
    "search.specialty": "Specialty",
    "search.min_free": "At least free",
    "search.max_staleness": "Maximum data age",
    "search.any": "Any",
    "search.submit": "Search",
    "search.results": "{n} wards with free beds",
    "search.none": "No ward matches",
    "search.asof": "Answer from",
    "search.stale_min": "{n} min",
    "search.stale_any": "No limit",
    "login.title": "Sign in",
    "login.token": "Access token",
    "login.submit": "Sign in",
    "login.help": "Enter the token you were given. It is kept in this tab only.",
    "login.rejected": "The token was rejected. Enter a valid token.",
    "error.load": "Could not load data ({detail})",
  },
};

export const CARE_TYPES = /** @type {const} */ ([
  "somatic_acute",
  "somatic_planned",
  "intensive_care",
  "psychiatry",
  "paediatric",
]);

/** @returns {"sv" | "en"} */
export function currentLanguage(storage = globalThis.localStorage) {
  try {
    const v = storage?.getItem(STORAGE_KEY);
    return v === "en" ? "en" : "sv";
  } catch {
    return "sv";
  }
}

/** @param {"sv" | "en"} lang */
export function setLanguage(lang, storage = globalThis.localStorage) {
  try {
    storage?.setItem(STORAGE_KEY, lang);
  } catch {
    // Private mode or a locked-down kiosk browser: the switch still works for this page.
  }
}

/** Formatting and text for one language. Pure: no DOM, usable from node tests. */
export class Translator {
  /** @param {"sv" | "en"} lang */
  constructor(lang) {
    this.lang = lang;
    this.locale = LOCALES[lang];
    const nf = (/** @type {Intl.NumberFormatOptions} */ o) => new Intl.NumberFormat(this.locale, o);
    this._int = nf({ maximumFractionDigits: 0 });
    this._dec1 = nf({ minimumFractionDigits: 1, maximumFractionDigits: 1 });
    this._pct = nf({ style: "percent", maximumFractionDigits: 0 });
    this._time = new Intl.DateTimeFormat(this.locale, {
      timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
    this._hm = new Intl.DateTimeFormat(this.locale, {
      timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit",
    });
    this._dateTime = new Intl.DateTimeFormat(this.locale, {
      timeZone: TIME_ZONE, day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
    });
    this._date = new Intl.DateTimeFormat(this.locale, {
      timeZone: TIME_ZONE, weekday: "short", day: "numeric", month: "short",
    });
    this._unit = {
      second: nf({ style: "unit", unit: "second", unitDisplay: "short", maximumFractionDigits: 0 }),
      minute: nf({ style: "unit", unit: "minute", unitDisplay: "short", maximumFractionDigits: 0 }),
      hour: nf({ style: "unit", unit: "hour", unitDisplay: "short", maximumFractionDigits: 0 }),
      day: nf({ style: "unit", unit: "day", unitDisplay: "short", maximumFractionDigits: 0 }),
    };
  }

  /** @param {string} key @param {Record<string, string | number>} [vars] */
  t(key, vars) {
    const table = STRINGS[this.lang];
    let s = table[key] ?? STRINGS.sv[key] ?? key;
    if (vars) {
      for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v));
    }
    return s;
  }

  /** Integer with locale grouping; "–" for missing values (never a made-up 0). */
  int(v) {
    return v == null || Number.isNaN(v) ? "–" : this._int.format(v);
  }

  dec1(v) {
    return v == null || Number.isNaN(v) ? "–" : this._dec1.format(v);
  }

  /** Ratio 0..n as a percentage; may exceed 100 %. */
  pct(v) {
    return v == null || Number.isNaN(v) ? "–" : this._pct.format(v);
  }

  /** @param {string | number | Date | null | undefined} v */
  time(v) {
    return v == null ? "–" : this._time.format(new Date(v));
  }

  hm(v) {
    return v == null ? "–" : this._hm.format(new Date(v));
  }

  dateTime(v) {
    return v == null ? "–" : this._dateTime.format(new Date(v));
  }

  date(v) {
    return v == null ? "–" : this._date.format(new Date(v));
  }

  /** Compact age: "45 s", "12 min", "3 h", "2 d". */
  age(seconds) {
    if (seconds == null || Number.isNaN(seconds)) return "–";
    const s = Math.max(0, seconds);
    if (s < 90) return this._unit.second.format(Math.round(s));
    if (s < 90 * 60) return this._unit.minute.format(Math.round(s / 60));
    if (s < 36 * 3600) return this._unit.hour.format(Math.round(s / 3600));
    return this._unit.day.format(Math.round(s / 86400));
  }

  levelName(level) {
    return level >= 1 && level <= 4 ? this.t(`level.${level}`) : this.t("level.unknown");
  }

  careType(ct) {
    return this.t(`caretype.${ct}`);
  }

  compare(a, b) {
    return String(a).localeCompare(String(b), this.locale, { numeric: true });
  }
}
