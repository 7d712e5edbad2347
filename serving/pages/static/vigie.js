// Vigie's pages: the names correspondence file, read locally; printing; tables on a phone;
// the sign-in relay.
// No request ever carries the file: it is parsed here and kept in this tab's sessionStorage,
// which the browser forgets when the tab closes.

const STORE = "vigie-noms";

function parseCsv(text, separator) {
  // RFC 4180: quoted fields, doubled quotes, separators and line breaks inside quotes.
  const rows = [];
  let row = [], field = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === separator) { row.push(field); field = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field); rows.push(row); row = []; field = "";
    } else field += c;
  }
  if (field !== "" || row.length) { row.push(field); rows.push(row); }
  return rows.filter((r) => r.some((v) => v.trim() !== ""));
}

function namesFrom(text) {
  // The file as 'vigie pseudonymise' writes it (commas, UTF-8), or as a French spreadsheet
  // saves it again (semicolons): the header line says which.
  const clean = text.replace(/^\uFEFF/, "");
  const headerLine = clean.split(/\r?\n/, 1)[0];
  const separator = headerLine.split(";").length > headerLine.split(",").length ? ";" : ",";
  const [header, ...rows] = parseCsv(clean, separator);
  const at = (name) => (header || []).map((h) => h.trim()).indexOf(name);
  const id = at("pupil_id"), last = at("last_name"), first = at("first_name");
  if (id < 0 || last < 0 || first < 0) throw new Error("colonnes attendues : pupil_id, last_name, first_name");
  const names = {};
  for (const r of rows) names[r[id].trim()] = `${(r[last] || "").trim().toUpperCase()} ${(r[first] || "").trim()}`.trim();
  return names;
}

async function readText(file) {
  // UTF-8, or Windows-1252 when the bytes are not UTF-8 (a spreadsheet's "CSV" on Windows):
  // accented names then read right instead of as replacement marks.
  const bytes = await file.arrayBuffer();
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder("windows-1252").decode(bytes);
  }
}

function stored() {
  try { return JSON.parse(sessionStorage.getItem(STORE) || "null"); } catch { return null; }
}

function show(names) {
  let found = 0;
  for (const el of document.querySelectorAll(".vigie-name[data-pupil-id]")) {
    const name = names && names[el.dataset.pupilId];
    el.textContent = name || "";
    el.hidden = !name;
    if (name) found++;
  }
  for (const control of document.querySelectorAll("[data-names-control]")) {
    const status = control.querySelector("[data-names-status]");
    const forget = control.querySelector("[data-names-forget]");
    if (status) status.textContent = names ? `Noms affichés : ${found} sur cette page.` : "";
    if (forget) forget.hidden = !names;
  }
}

function setUpNames() {
  show(stored());
  for (const control of document.querySelectorAll("[data-names-control]")) {
    const input = control.querySelector("[data-names-file]");
    const status = control.querySelector("[data-names-status]");
    input.addEventListener("change", async () => {
      const file = input.files && input.files[0];
      if (!file) return;
      try {
        const names = namesFrom(await readText(file));
        sessionStorage.setItem(STORE, JSON.stringify(names));
        show(names);
      } catch (error) {
        status.textContent = `Fichier illisible (${error.message}).`;
      }
      input.value = "";
    });
    control.querySelector("[data-names-forget]").addEventListener("click", () => {
      sessionStorage.removeItem(STORE);
      show(null);
    });
  }
}

function setUpPrint() {
  for (const button of document.querySelectorAll("[data-print]")) button.addEventListener("click", () => window.print());
}

function setUpScrollingTables() {
  // A table still too wide for the screen (a phone) scrolls inside its frame: that frame then
  // takes the keyboard focus, so that arrows scroll it, and is named by the table's caption.
  const frames = [...document.querySelectorAll(".fr-table__container")];
  const update = () => {
    for (const frame of frames) {
      const caption = frame.querySelector("caption");
      if (frame.scrollWidth > frame.clientWidth + 1) {
        frame.setAttribute("tabindex", "0");
        frame.setAttribute("role", "region");
        frame.setAttribute("aria-label", caption ? `${caption.textContent.trim()} (défile horizontalement)` : "Tableau");
      } else {
        for (const name of ["tabindex", "role", "aria-label"]) frame.removeAttribute(name);
      }
    }
  };
  update();
  window.addEventListener("resize", update);
}

function relaySignIn() {
  // After the provider's redirect (a cross-site navigation), a same-site navigation carries the
  // new SameSite=Strict session cookie.
  const next = document.querySelector("[data-continue]");
  if (next) window.location.replace(next.href);
}

setUpNames();
setUpPrint();
setUpScrollingTables();
relaySignIn();
