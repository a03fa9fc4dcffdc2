// Patrol mode (巡查): grids coloured by the day's area coverage, the uncovered parts shaded (the `coverage` tile
// layer), micro-grids not visited for N days marked, a list of the street's grids with coverage and duty, and
// the playback of a worker's cleaned track for the day (a marker moving along it, a time slider, play/pause).
import {STRINGS} from './i18n.js';
import {$, EMPTY, bboxOf, escapeHtml, getJson} from './util.js';

/** Coverage classes (upper bounds, %) and their colours, red (little walked) to green. */
export const COVERAGE_CLASSES = [
  [20, '#d7301f'],
  [40, '#fc8d59'],
  [60, '#fdcc8a'],
  [80, '#a6d96a'],
  [101, '#1a9850'],
];
const UNCOVERED_COLOR = '#2b2d42';
const STALE_COLOR = '#ff6a00';
const TRACK_COLOR = '#1d4ed8';
/** Beijing time: dates and windows are the server's local days (+08:00). */
const LOCAL_OFFSET_MS = 8 * 3600 * 1000;
const SPEEDS = [60, 300, 1200];

/** Today as YYYY-MM-DD in Beijing time. */
export function localToday(now = Date.now()) {
  return new Date(now + LOCAL_OFFSET_MS).toISOString().slice(0, 10);
}

function addDays(date, days) {
  const t = Date.parse(`${date}T00:00:00Z`) + days * 86400e3;
  return new Date(t).toISOString().slice(0, 10);
}

/** HH:MM:SS in Beijing time. */
function clock(ms) {
  return new Date(ms + LOCAL_OFFSET_MS).toISOString().slice(11, 19);
}

function colorOf(share) {
  const pct = share * 100;
  return COVERAGE_CLASSES.find(([upper]) => pct < upper)?.[1] ?? COVERAGE_CLASSES.at(-1)[1];
}

const NOTHING = ['==', ['get', 'code'], '\u0000'];

export function initCoverage(map, ctx) {
  const t = (key) => STRINGS[ctx.lang()][key];
  const params = new URLSearchParams(location.search);
  const state = {
    active: false,
    date: params.get('date') || localToday(),
    radius: Number(params.get('radius_m')) || 30,
    days: 3,
    street: params.get('street') || null,
    // Until the leader picks a street (or the URL names one), each day shows the street with most workers out.
    streetChosen: Boolean(params.get('street')),
    streets: [],
    streetBounds: new Map(), // street code → [[w, s], [e, n]]
    microGrids: new Map(), // street code → micro-grid features
    summary: null, // the street's coverage
    grids: [], // each grid's coverage: {code, name, area_coverage, duty_met, patrol_minutes}
    stale: [], // micro-grid codes not visited in the last N days
    workers: [],
    worker: null,
    tracks: [], // [{coords: [[lon, lat]], times: [ms]}]
    dropped: [],
    start: null,
    end: null,
    t: null, // playback time, ms
    position: null, // [lon, lat] of the marker
    playing: false,
    speed: 300,
    selected: null,
    loading: 0,
    loaded: 0, // completed refreshes (for the test)
    error: null,
  };
  let seq = 0;
  let frame = null;
  let lastTick = null;
  let fitted = false;

  // --- map layers -----------------------------------------------------------------------------

  function tilesUrl() {
    const q = new URLSearchParams({from: state.date, to: state.date, radius_m: String(state.radius)});
    return new URL(`tiles/coverage/{z}/{x}/{y}.mvt?${q}`, location.href).href
      .replace('%7Bz%7D', '{z}').replace('%7Bx%7D', '{x}').replace('%7By%7D', '{y}');
  }

  function firstSymbol() {
    return map.getStyle().layers.find((l) => l.type === 'symbol')?.id;
  }

  const LAYERS = ['coverage-choropleth', 'coverage-uncovered', 'coverage-uncovered-line', 'coverage-grid-line',
    'coverage-stale-fill', 'coverage-stale-line', 'coverage-selected', 'playback-track', 'playback-dropped',
    'playback-marker'];

  function addLayers() {
    if (map.getSource('coverage')) return;
    const before = firstSymbol();
    const visibility = state.active ? 'visible' : 'none';
    map.addSource('coverage', {type: 'vector', tiles: [tilesUrl()], minzoom: 11, maxzoom: 18});
    map.addSource('stale-micro', {type: 'geojson', data: EMPTY});
    map.addSource('playback', {type: 'geojson', data: EMPTY});
    map.addSource('playback-position', {type: 'geojson', data: EMPTY});
    const grids = {source: 'gridmap', 'source-layer': 'grids'};
    map.addLayer({id: 'coverage-choropleth', type: 'fill', ...grids, minzoom: 10, layout: {visibility},
      filter: NOTHING, paint: {'fill-color': '#cccccc', 'fill-opacity': 0.7}}, before);
    map.addLayer({id: 'coverage-uncovered', type: 'fill', source: 'coverage', 'source-layer': 'coverage',
      layout: {visibility}, filter: NOTHING, paint: {'fill-color': UNCOVERED_COLOR, 'fill-opacity': 0.42}}, before);
    map.addLayer({id: 'coverage-uncovered-line', type: 'line', source: 'coverage', 'source-layer': 'coverage',
      minzoom: 15, layout: {visibility}, filter: NOTHING, paint: {'line-color': UNCOVERED_COLOR, 'line-width': 0.5, 'line-opacity': 0.6}},
    before);
    map.addLayer({id: 'coverage-grid-line', type: 'line', ...grids, minzoom: 10, layout: {visibility},
      filter: NOTHING, paint: {'line-color': '#1f2328', 'line-width': 1.2}}, before);
    map.addLayer({id: 'coverage-stale-fill', type: 'fill', source: 'stale-micro', layout: {visibility},
      paint: {'fill-color': STALE_COLOR, 'fill-opacity': 0.18}}, before);
    map.addLayer({id: 'coverage-stale-line', type: 'line', source: 'stale-micro', layout: {visibility},
      paint: {'line-color': STALE_COLOR, 'line-width': 2.2, 'line-dasharray': [2, 1.2]}}, before);
    map.addLayer({id: 'coverage-selected', type: 'line', ...grids, layout: {visibility}, filter: NOTHING,
      paint: {'line-color': '#1d3557', 'line-width': 4}}, before);
    map.addLayer({id: 'playback-track', type: 'line', source: 'playback', filter: ['==', ['get', 'kind'], 'track'],
      layout: {visibility, 'line-cap': 'round', 'line-join': 'round'},
      paint: {'line-color': TRACK_COLOR, 'line-width': 2.6, 'line-opacity': 0.85}});
    map.addLayer({id: 'playback-dropped', type: 'circle', source: 'playback',
      filter: ['==', ['get', 'kind'], 'dropped'], layout: {visibility},
      paint: {'circle-radius': 3.5, 'circle-color': '#ffffff', 'circle-stroke-color': '#d7301f',
        'circle-stroke-width': 1.5}});
    map.addLayer({id: 'playback-marker', type: 'circle', source: 'playback-position', layout: {visibility},
      paint: {'circle-radius': 8, 'circle-color': TRACK_COLOR, 'circle-stroke-color': '#ffffff',
        'circle-stroke-width': 3}});
  }

  function setVisible(visible) {
    for (const id of LAYERS) {
      if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', visible ? 'visible' : 'none');
    }
    // The kind colours of grids would mix with the choropleth.
    if (map.getLayer('grids-fill')) {
      map.setLayoutProperty('grids-fill', 'visibility', visible || ctx.hidden('grids-fill') ? 'none' : 'visible');
    }
  }

  function paintGrids() {
    if (!map.getLayer('coverage-choropleth')) return;
    const codes = state.grids.map((g) => g.code);
    // Only the chosen street's grids: the list and the map say the same thing.
    const filter = codes.length === 0 ? NOTHING : ['in', ['get', 'code'], ['literal', codes]];
    for (const id of ['coverage-choropleth', 'coverage-grid-line', 'coverage-uncovered', 'coverage-uncovered-line']) {
      map.setFilter(id, filter);
    }
    if (codes.length === 0) return;
    const color = ['match', ['get', 'code'], ...state.grids.flatMap((g) => [g.code, colorOf(g.area_coverage)]),
      '#cccccc'];
    map.setPaintProperty('coverage-choropleth', 'fill-color', color);
    map.setFilter('coverage-selected', ['==', ['get', 'code'], state.selected ?? '\u0000']);
  }

  function paintStale() {
    const source = map.getSource('stale-micro');
    if (!source) return;
    const stale = new Set(state.stale);
    const features = (state.microGrids.get(state.street) ?? []).filter((f) => stale.has(f.properties.code));
    source.setData({type: 'FeatureCollection', features});
  }

  function paintTrack() {
    const source = map.getSource('playback');
    if (!source) return;
    const features = [
      ...state.tracks.map((tr) => ({type: 'Feature', properties: {kind: 'track'},
        geometry: {type: 'LineString', coordinates: tr.coords}})),
      ...state.dropped,
    ];
    source.setData({type: 'FeatureCollection', features});
    paintMarker();
  }

  function paintMarker() {
    const source = map.getSource('playback-position');
    if (!source) return;
    source.setData(state.position
      ? {type: 'FeatureCollection', features: [{type: 'Feature', properties: {worker: state.worker},
        geometry: {type: 'Point', coordinates: state.position}}]}
      : EMPTY);
  }

  // --- data -----------------------------------------------------------------------------------

  async function loadStreets() {
    if (state.streets.length > 0) return;
    const fc = await getJson('v1/grids?level=street');
    state.streets = fc.features.map((f) => ({code: f.properties.code, name: f.properties.name}))
      .sort((a, b) => a.code.localeCompare(b.code));
    for (const f of fc.features) state.streetBounds.set(f.properties.code, bboxOf(f.geometry));
  }

  async function loadMicroGrids(street) {
    if (state.microGrids.has(street)) return;
    const [[w, s], [e, n]] = state.streetBounds.get(street);
    const fc = await getJson(`v1/grids?level=micro_grid&bbox=${w},${s},${e},${n}`);
    state.microGrids.set(street, fc.features.filter((f) => f.properties.code.startsWith(street)));
  }

  /** The street with most workers out on the day (else the first). */
  function defaultStreet() {
    const counts = new Map();
    for (const w of state.workers) {
      if (!w.grid) continue;
      const street = state.streets.find((s) => w.grid.startsWith(s.code));
      if (street) counts.set(street.code, (counts.get(street.code) ?? 0) + 1);
    }
    const best = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
    return best ? best[0] : state.streets[0]?.code ?? null;
  }

  /** Reloads everything that depends on the date, R, N or the street. */
  async function refresh() {
    const mine = ++seq;
    state.loading += 1;
    state.error = null;
    render();
    try {
      await loadStreets();
      const workers = await getJson(`v1/patrols/workers?date=${state.date}`);
      if (mine !== seq) return;
      state.workers = workers.workers;
      if (!state.streetChosen || !state.street || !state.streets.some((s) => s.code === state.street)) {
        state.street = defaultStreet();
      }
      if (!state.street) return;
      const street = state.street;
      const window = `from=${state.date}&to=${state.date}&radius_m=${state.radius}`;
      const since = addDays(state.date, -(state.days - 1));
      const [day, recent] = await Promise.all([
        getJson(`v1/coverage?street=${street}&${window}`),
        getJson(`v1/coverage?street=${street}&from=${since}&to=${state.date}&radius_m=${state.radius}`),
        loadMicroGrids(street),
      ]);
      if (mine !== seq) return;
      state.summary = day.coverage;
      state.grids = day.grids.map((g) => ({code: g.code, name: g.name, area_coverage: g.area_coverage,
        duty_met: g.duty_met, patrol_minutes: g.patrol_minutes}));
      state.stale = recent.grids.flatMap((g) => g.micro_grids.filter((m) => !m.visited).map((m) => m.code));
      const source = map.getSource('coverage');
      if (source) source.setTiles([tilesUrl()]);
      paintGrids();
      paintStale();
      if (!fitted && state.streetBounds.has(street) && !location.hash) {
        fitted = true;
        map.fitBounds(state.streetBounds.get(street), {padding: {top: 70, bottom: 30, left: 330, right: 330},
          duration: 0});
      }
    } catch (error) {
      if (mine === seq) state.error = String(error.message);
    } finally {
      state.loading -= 1;
      if (mine === seq) state.loaded += 1;
      render();
    }
  }

  async function selectWorker(worker) {
    pause();
    state.worker = worker || null;
    state.tracks = [];
    state.dropped = [];
    state.start = state.end = state.t = state.position = null;
    if (!state.worker) {
      paintTrack();
      renderPlayback();
      return null;
    }
    const fc = await getJson(`v1/patrols/tracks?worker=${encodeURIComponent(state.worker)}&date=${state.date}`);
    state.tracks = fc.features.filter((f) => f.properties.kind === 'track' && f.geometry.type === 'LineString')
      .map((f) => ({coords: f.geometry.coordinates, times: f.properties.times.map((s) => Date.parse(s))}));
    state.dropped = fc.features.filter((f) => f.properties.kind === 'dropped');
    if (state.tracks.length > 0) {
      state.start = state.tracks[0].times[0];
      state.end = state.tracks.at(-1).times.at(-1);
      seek(state.start);
      const all = state.tracks.flatMap((tr) => tr.coords);
      map.fitBounds(bboxOf({coordinates: all}), {padding: {top: 90, bottom: 60, left: 340, right: 340},
        maxZoom: 16.5, duration: 0});
    }
    paintTrack();
    renderPlayback();
    return state.tracks.length;
  }

  /** The worker's position at `ms`: interpolated on a track, held at the last fix across a gap. */
  function positionAt(ms) {
    let last = null;
    for (const tr of state.tracks) {
      const {times, coords} = tr;
      if (ms < times[0]) return last ?? coords[0];
      if (ms <= times.at(-1)) {
        let lo = 0;
        let hi = times.length - 1;
        while (hi - lo > 1) {
          const mid = (lo + hi) >> 1;
          if (times[mid] <= ms) lo = mid; else hi = mid;
        }
        const f = times[hi] === times[lo] ? 0 : (ms - times[lo]) / (times[hi] - times[lo]);
        return [coords[lo][0] + f * (coords[hi][0] - coords[lo][0]), coords[lo][1] + f * (coords[hi][1] - coords[lo][1])];
      }
      last = coords.at(-1);
    }
    return last;
  }

  function seek(ms) {
    if (state.start === null) return;
    state.t = Math.min(Math.max(ms, state.start), state.end);
    state.position = positionAt(state.t);
    paintMarker();
    const slider = $('playback-slider');
    if (slider) slider.value = String(Math.round((state.t - state.start) / 1000));
    const label = $('playback-time');
    if (label) label.textContent = clock(state.t);
  }

  function tick(now) {
    if (!state.playing) return;
    const dt = lastTick === null ? 0 : now - lastTick;
    lastTick = now;
    seek(state.t + dt * state.speed);
    if (state.t >= state.end) {
      pause();
      return;
    }
    frame = requestAnimationFrame(tick);
  }

  function play() {
    if (state.start === null || state.playing) return;
    if (state.t >= state.end) seek(state.start);
    state.playing = true;
    lastTick = null;
    frame = requestAnimationFrame(tick);
    renderPlayButton();
  }

  function pause() {
    state.playing = false;
    if (frame !== null) cancelAnimationFrame(frame);
    frame = null;
    renderPlayButton();
  }

  // --- panels ---------------------------------------------------------------------------------

  function pct(share) {
    return `${(share * 100).toFixed(1)}%`;
  }

  function render() {
    if (!$('coverage-box')) return;
    $('coverage-date').value = state.date;
    $('coverage-radius').value = String(state.radius);
    $('coverage-days').value = String(state.days);
    const select = $('coverage-street');
    select.innerHTML = state.streets.map((s) => `<option value="${escapeHtml(s.code)}" ${
      s.code === state.street ? 'selected' : ''}>${escapeHtml(s.name)}</option>`).join('');
    const status = $('coverage-status');
    status.textContent = state.error ? `${t('error')}: ${state.error}` : state.loading > 0 ? t('loading') : '';
    status.className = state.error ? 'error' : 'muted';
    const met = state.grids.filter((g) => g.duty_met).length;
    $('coverage-summary').innerHTML = state.summary
      ? `<div class="coverage-big"><span>${pct(state.summary.area_coverage)}</span> ${t('areaCoverage')}</div>
         <div class="muted">${t('dutyMet')} <b>${met}</b> / ${state.grids.length} · ${t('staleMicro').replace('{n}',
           state.days)} <b>${state.stale.length}</b></div>`
      : '';
    const rows = [...state.grids].sort((a, b) => a.code.localeCompare(b.code));
    $('coverage-list').innerHTML = rows.map((g) => `<li class="coverage-row${g.code === state.selected ? ' selected' : ''}"
        data-code="${escapeHtml(g.code)}" data-coverage="${(g.area_coverage * 100).toFixed(2)}">
      <span class="coverage-name" title="${escapeHtml(g.code)}">${escapeHtml(g.name)}</span>
      <span class="coverage-bar"><span style="width:${(g.area_coverage * 100).toFixed(1)}%;background:${
        colorOf(g.area_coverage)}"></span></span>
      <span class="coverage-pct">${pct(g.area_coverage)}</span>
      <span class="duty ${g.duty_met ? 'met' : 'unmet'}" title="${t(g.duty_met ? 'dutyMetTitle' : 'dutyUnmetTitle')}">${
        g.duty_met ? '✓' : '✗'}</span></li>`).join('');
    renderLegend();
    renderPlayback();
  }

  function renderLegend() {
    const rows = COVERAGE_CLASSES.map(([upper, color], i) => {
      const lower = i === 0 ? 0 : COVERAGE_CLASSES[i - 1][0];
      const label = upper > 100 ? `≥ ${lower}%` : `${lower}–${upper}%`;
      return `<div><span class="swatch" style="background:${color};opacity:.8"></span>${label}</div>`;
    });
    rows.push(`<div><span class="swatch" style="background:${UNCOVERED_COLOR};opacity:.5"></span>${
      t('uncoveredLegend').replace('{r}', state.radius)}</div>`);
    rows.push(`<div><span class="swatch" style="border:2px dashed ${STALE_COLOR};background:rgba(255,106,0,.18)"></span>${
      t('staleLegend').replace('{n}', state.days)}</div>`);
    rows.push(`<div><span class="line" style="border-top:3px solid ${TRACK_COLOR}"></span>${t('trackLegend')}</div>`);
    $('coverage-legend-body').innerHTML = rows.join('');
  }

  function renderPlayButton() {
    const button = $('playback-play');
    if (!button) return;
    button.textContent = state.playing ? `⏸ ${t('pause')}` : `▶ ${t('play')}`;
    button.disabled = state.start === null;
  }

  function renderPlayback() {
    if (!$('playback-box')) return;
    const roster = state.workers.filter((w) => !state.street || (w.grid ?? '').startsWith(state.street));
    const others = state.workers.filter((w) => !roster.includes(w));
    const option = (w) => `<option value="${escapeHtml(w.worker)}" ${w.worker === state.worker ? 'selected' : ''}>${
      escapeHtml(w.name ?? w.worker)}${w.grid_name ? ` · ${escapeHtml(w.grid_name)}` : ''}</option>`;
    $('playback-worker').innerHTML = `<option value="">${t('chooseWorker')} (${state.workers.length})</option>${
      roster.map(option).join('')}${others.map(option).join('')}`;
    const slider = $('playback-slider');
    slider.disabled = state.start === null;
    slider.max = state.start === null ? '0' : String(Math.round((state.end - state.start) / 1000));
    if (state.t !== null) slider.value = String(Math.round((state.t - state.start) / 1000));
    $('playback-time').textContent = state.t === null ? '--:--:--' : clock(state.t);
    $('playback-speed').innerHTML = SPEEDS.map((s) => `<option value="${s}" ${s === state.speed ? 'selected' : ''}>×${s}</option>`)
      .join('');
    const km = state.tracks.reduce((sum, tr) => sum + lengthKm(tr.coords), 0);
    const reasons = STRINGS[ctx.lang()].dropReasons;
    const dropped = {};
    for (const d of state.dropped) dropped[d.properties.reason] = (dropped[d.properties.reason] ?? 0) + 1;
    $('playback-facts').innerHTML = state.worker && state.start !== null
      ? `${clock(state.start).slice(0, 5)}–${clock(state.end).slice(0, 5)} · ${km.toFixed(1)} km · ${
        state.tracks.length} ${t('segments')}${state.dropped.length > 0 ? `<br>${t('dropped')}: ${Object.entries(dropped)
        .map(([r, n]) => `${escapeHtml(reasons[r] ?? r)} ${n}`).join('，')}` : ''}`
      : state.worker ? t('noTrack') : '';
    renderPlayButton();
  }

  function lengthKm(coords) {
    let m = 0;
    for (let i = 1; i < coords.length; i += 1) {
      const [x0, y0] = coords[i - 1];
      const [x1, y1] = coords[i];
      const k = Math.cos(((y0 + y1) / 2) * Math.PI / 180);
      m += Math.hypot((x1 - x0) * 111320 * k, (y1 - y0) * 110574);
    }
    return m / 1000;
  }

  async function showGrid(code) {
    state.selected = code;
    paintGrids();
    render();
    const feature = await getJson(`v1/grids/${encodeURIComponent(code)}`);
    map.fitBounds(bboxOf(feature.geometry), {padding: {top: 90, bottom: 60, left: 340, right: 340}, maxZoom: 17,
      duration: 600});
  }

  // --- events ---------------------------------------------------------------------------------

  function bind() {
    $('coverage-date').addEventListener('change', (e) => {
      if (!e.target.value) return;
      state.date = e.target.value;
      state.worker = null;
      selectWorker(null);
      refresh();
    });
    $('coverage-radius').addEventListener('change', (e) => {
      const r = Number(e.target.value);
      if (!(r >= 1 && r <= 500)) return;
      state.radius = r;
      refresh();
    });
    $('coverage-days').addEventListener('change', (e) => {
      const n = Math.round(Number(e.target.value));
      if (!(n >= 1 && n <= 31)) return;
      state.days = n;
      refresh();
    });
    $('coverage-street').addEventListener('change', (e) => {
      state.street = e.target.value;
      state.streetChosen = true;
      fitted = true;
      if (state.streetBounds.has(state.street)) {
        map.fitBounds(state.streetBounds.get(state.street), {padding: {top: 70, bottom: 30, left: 330, right: 330},
          duration: 600});
      }
      refresh();
    });
    $('coverage-list').addEventListener('click', (e) => {
      const row = e.target.closest('[data-code]');
      if (row) showGrid(row.dataset.code);
    });
    $('playback-worker').addEventListener('change', (e) => selectWorker(e.target.value));
    $('playback-play').addEventListener('click', () => (state.playing ? pause() : play()));
    $('playback-slider').addEventListener('input', (e) => {
      if (state.start !== null) seek(state.start + Number(e.target.value) * 1000);
    });
    $('playback-speed').addEventListener('change', (e) => {
      state.speed = Number(e.target.value);
    });
  }
  bind();

  map.on('load', () => {
    addLayers();
    paintGrids();
    paintStale();
    paintTrack();
  });

  return {
    state,
    refresh,
    selectWorker,
    play,
    pause,
    seek,
    showGrid,
    render,
    enter() {
      state.active = true;
      const show = () => {
        addLayers();
        setVisible(true);
        paintGrids();
        paintStale();
        paintTrack();
      };
      if (map.isStyleLoaded()) show();
      else map.once('load', show);
      render();
      return refresh();
    },
    leave() {
      pause();
      state.active = false;
      setVisible(false);
    },
  };
}
