// gridmap's web map: the grids from gridmap's own vector tiles, a lookup panel, search, layers, legend.
import * as maplibregl from './vendor/maplibre-gl/maplibre-gl.mjs';
import {STRINGS, initialLang} from './i18n.js';
import {wgs84ToGcj02} from './gcj02.js';
import {initDispatch} from './dispatch.js';
import {initCoverage} from './coverage.js';
import {initPlanner} from './planner.js';
import {
  EXCLUDED_COLORS, EXCLUSIVE_COLOR, INTERACTIVE_FILLS, KIND_COLORS, LEVEL_LINES, POLYGON_LAYERS, buildStyle,
  layerGroups, stripePattern,
} from './style.js';
import {$, bboxOf, escapeHtml, getJson} from './util.js';

const DEFAULT_VIEW = {center: [114.09, 33.57], zoom: 13.3};
const ui = {
  lang: initialLang(),
  hidden: new Set(),
  panel: null, // what the panel shows: {type: 'locate', lngLat, answer} or {type: 'area', feature}
  basemap: false,
  mode: ['dispatch', 'coverage', 'plan'].find((m) => m === new URLSearchParams(location.search).get('mode')) ?? 'map',
};
const t = (key) => STRINGS[ui.lang][key];

async function loadConfig() {
  try {
    return await getJson('config.json');
  } catch {
    return {};
  }
}

// --- map ----------------------------------------------------------------------------------------

const config = await loadConfig();
ui.basemap = Boolean(config.basemap_url);
const map = new maplibregl.Map({
  container: 'map',
  style: buildStyle({
    tilesUrl: new URL('tiles.json', location.href).href,
    basemapUrl: config.basemap_url,
  }),
  center: DEFAULT_VIEW.center,
  zoom: DEFAULT_VIEW.zoom,
  hash: true,
  maxZoom: 19,
  attributionControl: config.basemap_attribution ? {customAttribution: config.basemap_attribution} : false,
  localIdeographFontFamily: "'Noto Sans CJK SC', 'Microsoft YaHei', 'PingFang SC', sans-serif",
});
// For the browser test and for anyone poking around in the console.
window.map = map;
window.gridmap = {map, select, locateAt, ui};

map.addControl(new maplibregl.NavigationControl({showCompass: false}), 'bottom-right');
map.addControl(new maplibregl.ScaleControl({maxWidth: 140, unit: 'metric'}), 'bottom-left');
map.on('styleimagemissing', (e) => {
  if (e.id === 'exclusive-stripes') map.addImage('exclusive-stripes', stripePattern(), {pixelRatio: 2});
  if (e.id === 'excluded-hatch') map.addImage('excluded-hatch', stripePattern(12, '120, 120, 120'), {pixelRatio: 2});
});

let marker = null;

function setFilterAll(kind, code) {
  const filter = ['==', ['get', 'code'], code ?? '\u0000'];
  for (const layer of POLYGON_LAYERS) {
    map.setFilter(`${layer}-${kind}`, filter);
    if (kind === 'selected') map.setFilter(`${layer}-selected-fill`, filter);
  }
}

/** Highlights one area (any level) by code; `null` clears. */
function select(code) {
  ui.selected = code;
  setFilterAll('selected', code);
}

// Hover: outline the topmost area under the pointer.
let hovered = null;
map.on('mousemove', (e) => {
  if (ui.mode !== 'map') {
    map.getCanvas().style.cursor = '';
    return;
  }
  const layers = INTERACTIVE_FILLS.filter((id) => map.getLayer(id) && !ui.hidden.has(id));
  const top = map.queryRenderedFeatures(e.point, {layers})[0];
  const code = top ? top.properties.code : null;
  map.getCanvas().style.cursor = top ? 'pointer' : '';
  if (code !== hovered) {
    hovered = code;
    setFilterAll('hover', code);
  }
});
map.on('mouseout', () => {
  hovered = null;
  setFilterAll('hover', null);
});

map.on('click', (e) => {
  if (ui.mode === 'map') locateAt(e.lngLat);
});

/** Asks `/v1/locate` about a point, shows the answer and highlights the responsible grid. */
async function locateAt(lngLat) {
  const {lng, lat} = lngLat;
  if (marker) marker.remove();
  marker = new maplibregl.Marker({color: '#e3262f'}).setLngLat([lng, lat]).addTo(map);
  ui.panel = {type: 'loading', lngLat: {lng, lat}};
  renderPanel();
  try {
    const answer = await getJson(`v1/locate?lon=${lng.toFixed(7)}&lat=${lat.toFixed(7)}`);
    ui.panel = {type: 'locate', lngLat: {lng, lat}, answer};
    select(answer.responsible ? answer.responsible.code : null);
  } catch (error) {
    ui.panel = {type: 'error', lngLat: {lng, lat}, message: String(error.message)};
  }
  renderPanel();
  return ui.panel;
}

// --- panel --------------------------------------------------------------------------------------

function areaLine(area) {
  const levels = STRINGS[ui.lang].levels;
  const kinds = STRINGS[ui.lang].kinds;
  const kind = area.kind ? ` · ${escapeHtml(kinds[area.kind] ?? area.kind)}` : '';
  return `<li><span class="level">${escapeHtml(levels[area.level] ?? area.level)}</span>
    <a href="#" class="area-link" data-code="${escapeHtml(area.code)}">${escapeHtml(area.name)}</a>
    <code>${escapeHtml(area.code)}</code>${kind}</li>`;
}

function staffList(staff) {
  if (!staff || staff.length === 0) return `<p class="muted">${t('noStaff')}</p>`;
  const roles = STRINGS[ui.lang].roles;
  return `<ul class="staff">${staff.map((s) => `<li><span class="role">${escapeHtml(roles[s.role] ?? s.role)}</span>
    <span class="name">${escapeHtml(s.name)}</span>
    <a class="phone" href="tel:${escapeHtml(s.phone.replace(/[^\d+]/g, ''))}">${escapeHtml(s.phone)}</a></li>`).join('')}</ul>`;
}

function coordinates({lng, lat}) {
  const [glon, glat] = wgs84ToGcj02(lng, lat);
  return `<h3>${t('coordinates')}</h3>
    <table class="coords">
      <tr><th>${t('wgs84')}</th><td id="coord-wgs84">${lng.toFixed(6)}, ${lat.toFixed(6)}</td></tr>
      <tr><th>${t('gcj02')}</th><td id="coord-gcj02">${glon.toFixed(6)}, ${glat.toFixed(6)}</td></tr>
    </table>`;
}

function responsibleBlock(r) {
  const kinds = STRINGS[ui.lang].kinds;
  const badge = r.exclusive ? `<span class="badge">${t('exclusiveBadge')}</span>` : '';
  return `<section class="responsible" data-responsible-code="${escapeHtml(r.code)}">
    <h3>${t('responsible')}</h3>
    <div class="grid-name">${escapeHtml(r.name)} ${badge}</div>
    <div class="grid-code"><code id="responsible-code">${escapeHtml(r.code)}</code>
      ${r.kind ? ` · ${escapeHtml(kinds[r.kind] ?? r.kind)}` : ''}</div>
    <h3>${t('staff')}</h3>${staffList(r.staff)}
  </section>`;
}

function renderPanel() {
  const panel = $('panel');
  const body = $('panel-body');
  const state = ui.panel;
  if (!state) {
    panel.hidden = true;
    body.innerHTML = '';
    return;
  }
  panel.hidden = false;
  let html = '';
  if (state.type === 'loading') {
    html = `<p class="muted">${t('loading')}</p>${coordinates(state.lngLat)}`;
  } else if (state.type === 'error') {
    html = `<p class="error">${t('error')}: ${escapeHtml(state.message)}</p>${coordinates(state.lngLat)}`;
  } else if (state.type === 'locate') {
    const a = state.answer;
    if (a.responsible) html += responsibleBlock(a.responsible);
    else html += `<p class="muted">${t('outside')}</p>`;
    // Who a report here goes to and why, when it is not simply the grid the point is in.
    if (a.rule && a.rule !== 'grid') {
      const distance = a.distance_m === undefined ? '' : ` · ${Math.round(a.distance_m)} m`;
      html += `<p class="rule" data-rule="${escapeHtml(a.rule)}">${t('ruleLabel')}: ${
        escapeHtml(STRINGS[ui.lang].rules[a.rule] ?? a.rule)}${distance}</p>`;
    }
    for (const g of a.excluded ?? []) {
      html += `<p class="excluded" data-kind="${escapeHtml(g.kind)}">${t('onExcluded')}: ${escapeHtml(g.name)} (${
        escapeHtml(STRINGS[ui.lang].excludedKinds[g.kind] ?? g.kind)})</p>`;
    }
    if (a.nearest) {
      html += `<p>${t('nearest')}: <a href="#" class="area-link" data-code="${escapeHtml(a.nearest.code)}">
        ${escapeHtml(a.nearest.name)}</a> <code>${escapeHtml(a.nearest.code)}</code>,
        ${t('distance')} ${Math.round(a.nearest.distance_m)} m</p>`;
    }
    html += `<h3>${t('chain')}</h3><ul class="chain">${a.chain.map(areaLine).join('')}</ul>`;
    html += `<h3>${t('exclusiveGrids')}</h3>`;
    html += a.exclusive.length > 0
      ? `<ul class="chain exclusive">${a.exclusive.map(areaLine).join('')}</ul>`
      : `<p class="muted">${t('none')}</p>`;
    html += coordinates(state.lngLat);
  } else if (state.type === 'area') {
    const p = state.feature.properties;
    const levels = STRINGS[ui.lang].levels;
    const kinds = STRINGS[ui.lang].kinds;
    const badge = p.exclusive ? `<span class="badge">${t('exclusiveBadge')}</span>` : '';
    html = `<section class="responsible" data-responsible-code="${escapeHtml(p.code)}">
      <h3>${escapeHtml(levels[p.level] ?? p.level)}</h3>
      <div class="grid-name">${escapeHtml(p.name)} ${badge}</div>
      <div class="grid-code"><code id="responsible-code">${escapeHtml(p.code)}</code>
        ${p.kind ? ` · ${escapeHtml(kinds[p.kind] ?? p.kind)}` : ''}</div>
      ${p.parent ? `<p>${t('parent')}: <a href="#" class="area-link" data-code="${escapeHtml(p.parent)}">
        <code>${escapeHtml(p.parent)}</code></a></p>` : ''}
      ${p.staff ? `<h3>${t('staff')}</h3>${staffList(p.staff)}` : ''}
    </section>`;
  }
  body.innerHTML = html;
}

$('panel-close').addEventListener('click', () => {
  ui.panel = null;
  select(null);
  if (marker) marker.remove();
  renderPanel();
});
$('panel-body').addEventListener('click', (e) => {
  const link = e.target.closest('.area-link');
  if (!link) return;
  e.preventDefault();
  showArea(link.dataset.code);
});

// --- search -------------------------------------------------------------------------------------

/** Flies to an area by code, highlights it and shows it in the panel. */
async function showArea(code) {
  const feature = await getJson(`v1/grids/${encodeURIComponent(code)}`);
  map.fitBounds(bboxOf(feature.geometry), {padding: 80, maxZoom: 17, duration: 800});
  if (marker) marker.remove();
  select(feature.properties.code);
  ui.panel = {type: 'area', feature};
  renderPanel();
  return feature;
}

/** Flies to an address and looks its point up (in dispatcher mode: puts a new report there). */
async function showAddress(feature) {
  const [lng, lat] = feature.geometry.coordinates;
  map.flyTo({center: [lng, lat], zoom: Math.max(map.getZoom(), 17), duration: 800});
  if (ui.mode === 'dispatch') {
    dispatch.useAddress({lng, lat});
    return null;
  }
  return locateAt({lng, lat});
}

let searchSeq = 0;
let results = [];

async function search(query) {
  const q = query.trim();
  const seq = ++searchSeq;
  if (!q) {
    showResults([]);
    return [];
  }
  const found = [];
  const jobs = [getJson(`v1/addresses?q=${encodeURIComponent(q)}&limit=8`).catch(() => null)];
  if (/^[0-9A-Za-z_-]{3,}$/.test(q)) jobs.push(getJson(`v1/grids/${encodeURIComponent(q)}`).catch(() => null));
  const [addresses, grid] = await Promise.all(jobs);
  if (seq !== searchSeq) return results;
  if (grid) found.push({type: 'area', feature: grid});
  for (const feature of addresses?.features ?? []) found.push({type: 'address', feature});
  showResults(found);
  return found;
}

function showResults(list) {
  results = list;
  const ul = $('search-results');
  if (list.length === 0) {
    ul.innerHTML = $('search-input').value.trim() ? `<li class="muted">${t('noResults')}</li>` : '';
    ul.hidden = !$('search-input').value.trim();
    return;
  }
  const levels = STRINGS[ui.lang].levels;
  ul.innerHTML = list.map((r, i) => {
    const p = r.feature.properties;
    const tag = r.type === 'area' ? levels[p.level] ?? t('area') : t('address');
    const text = r.type === 'area' ? `${escapeHtml(p.name)} <code>${escapeHtml(p.code)}</code>` : escapeHtml(p.full);
    return `<li role="option" data-index="${i}" class="result result-${r.type}"><span class="tag">${
      escapeHtml(tag)}</span>${text}</li>`;
  }).join('');
  ul.hidden = false;
}

/** Chooses a search result: flies there and highlights the grid. */
async function choose(index) {
  const r = results[index];
  if (!r) return null;
  $('search-results').hidden = true;
  $('search-input').blur();
  if (r.type === 'area') return showArea(r.feature.properties.code);
  return showAddress(r.feature);
}
window.gridmap.search = search;
window.gridmap.choose = choose;

let debounce = null;
$('search-input').addEventListener('input', (e) => {
  clearTimeout(debounce);
  debounce = setTimeout(() => search(e.target.value), 200);
});
$('search-input').addEventListener('keydown', async (e) => {
  if (e.key === 'Enter') {
    clearTimeout(debounce);
    await search(e.target.value);
    choose(0);
  } else if (e.key === 'Escape') {
    $('search-results').hidden = true;
  }
});
$('search-results').addEventListener('click', (e) => {
  const li = e.target.closest('li[data-index]');
  if (li) choose(Number(li.dataset.index));
});

// --- layer switcher and legend -------------------------------------------------------------------

const groups = layerGroups(ui.basemap);

function groupLabel(group) {
  return STRINGS[ui.lang].layerNames[group] ?? t(group);
}

function renderLayers() {
  $('layer-list').innerHTML = Object.keys(groups).map((group) => `<label>
      <input type="checkbox" data-group="${group}" ${groups[group].some((id) => ui.hidden.has(id)) ? '' : 'checked'}>
      ${escapeHtml(groupLabel(group))}</label>`).join('');
}

$('layer-list').addEventListener('change', (e) => {
  const group = e.target.dataset.group;
  if (!group) return;
  for (const id of groups[group]) {
    if (e.target.checked) ui.hidden.delete(id);
    else ui.hidden.add(id);
    if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', e.target.checked ? 'visible' : 'none');
  }
});

function swatch(style) {
  return `<span class="swatch" style="${style}"></span>`;
}

function renderLegend() {
  const kinds = STRINGS[ui.lang].kinds;
  const names = STRINGS[ui.lang].layerNames;
  const rows = [];
  for (const [kind, color] of Object.entries(KIND_COLORS)) {
    rows.push(`<div>${swatch(`background:${color};opacity:.8`)}${escapeHtml(kinds[kind])}</div>`);
  }
  rows.push(`<div>${swatch(`border:2px dashed ${EXCLUSIVE_COLOR};background:repeating-linear-gradient(135deg,
    rgba(181,23,158,.45) 0 2px, rgba(181,23,158,.08) 2px 6px)`)}${t('exclusiveLegend')}</div>`);
  rows.push(`<div>${swatch(`background:${EXCLUDED_COLORS.water};border:1px solid ${EXCLUDED_COLORS.waterLine}`)}${
    t('excludedWaterLegend')}</div>`);
  rows.push(`<div>${swatch(`border:1px solid ${EXCLUDED_COLORS.other};background:repeating-linear-gradient(135deg,
    rgba(120,120,120,.5) 0 2px, rgba(120,120,120,.08) 2px 6px)`)}${t('excludedOtherLegend')}</div>`);
  for (const [layer, {color, width}] of Object.entries(LEVEL_LINES)) {
    const dashed = layer === 'micro_grids' ? 'dashed' : 'solid';
    rows.push(`<div><span class="line" style="border-top:${Math.max(1, Math.round(width))}px ${dashed} ${color}"></span>${
      escapeHtml(names[layer])}</div>`);
  }
  $('legend-body').innerHTML = rows.join('');
}

// --- language -----------------------------------------------------------------------------------

function applyLang() {
  document.documentElement.lang = ui.lang === 'zh' ? 'zh-CN' : 'en';
  document.title = `${t('title')} · gridmap`;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-placeholder]')) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  $('lang-toggle').textContent = t('langToggle');
  for (const el of document.querySelectorAll('[data-i18n-mode]')) {
    el.textContent = STRINGS[ui.lang].modes[el.dataset.i18nMode];
  }
  dispatch.render();
  coverage.render();
  planner.render();
  renderLayers();
  renderLegend();
  renderPanel();
  if (!$('search-results').hidden) showResults(results);
}

$('lang-toggle').addEventListener('click', () => {
  ui.lang = ui.lang === 'zh' ? 'en' : 'zh';
  const url = new URL(location.href);
  if (ui.lang === 'en') url.searchParams.set('lang', 'en');
  else url.searchParams.delete('lang');
  history.replaceState(null, '', url); // keeps the view hash
  applyLang();
});

// --- modes: 地图 (lookups), 调度 (dispatcher) and 巡查 (patrol coverage) -------------------------------

const dispatch = initDispatch(map, {lang: () => ui.lang});
window.gridmap.dispatch = dispatch;
const coverage = initCoverage(map, {lang: () => ui.lang, hidden: (id) => ui.hidden.has(id)});
window.gridmap.coverage = coverage;
const planner = initPlanner(map, {lang: () => ui.lang, refreshTiles, tilesAt});
window.gridmap.planner = planner;

/** Fetches the vector tiles again (after a commit): a new URL, so neither MapLibre nor the HTTP cache answers. */
function refreshTiles() {
  const source = map.getSource('gridmap');
  if (!source?.tiles) return;
  const stamp = Date.now();
  source.setTiles(source.tiles.map((u) => {
    const url = new URL(u, location.href);
    url.searchParams.set('v', String(stamp));
    return decodeURI(url.href);
  }));
}

/** Shows the boundaries as they were at `at` (RFC 3339; `null`: now) through the tiles' `at=`. */
function tilesAt(at) {
  const source = map.getSource('gridmap');
  if (!source?.tiles) return;
  source.setTiles(source.tiles.map((u) => {
    const url = new URL(u, location.href);
    if (at) url.searchParams.set('at', at);
    else url.searchParams.delete('at');
    return decodeURI(url.href);
  }));
}

function applyMode() {
  document.body.classList.toggle('mode-dispatch', ui.mode === 'dispatch');
  document.body.classList.toggle('mode-coverage', ui.mode === 'coverage');
  document.body.classList.toggle('mode-plan', ui.mode === 'plan');
  for (const tab of document.querySelectorAll('#modes [data-mode]')) {
    tab.setAttribute('aria-selected', String(tab.dataset.mode === ui.mode));
  }
  if (ui.mode !== 'map' && marker) marker.remove();
  if (ui.mode === 'dispatch') dispatch.enter();
  else dispatch.leave();
  if (ui.mode === 'coverage') coverage.enter();
  else coverage.leave();
  if (ui.mode === 'plan') planner.enter();
  else planner.leave();
}

/** Switches between the modes; the URL keeps the mode (`?mode=dispatch`, `?mode=coverage`). */
function setMode(mode) {
  if (mode === ui.mode) return;
  ui.mode = mode;
  const url = new URL(location.href);
  if (mode !== 'map') url.searchParams.set('mode', mode);
  else url.searchParams.delete('mode');
  history.replaceState(null, '', url); // keeps the view hash
  applyMode();
}
window.gridmap.setMode = setMode;

$('modes').addEventListener('click', (e) => {
  const tab = e.target.closest('[data-mode]');
  if (tab) setMode(tab.dataset.mode);
});

applyLang();
if (ui.mode !== 'map') applyMode();
