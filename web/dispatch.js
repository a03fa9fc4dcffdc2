// Dispatcher mode (调度): reports on the map by stage, the queue of open reports by deadline, a report's route,
// history and actions, a new-report form, and live updates from `/v1/reports/stream` (server-sent events).
import * as maplibregl from './vendor/maplibre-gl/maplibre-gl.mjs';
import {STRINGS} from './i18n.js';
import {$, escapeHtml, getJson, postJson} from './util.js';

/** Circle colour per stage; overdue reports get a red ring on top. */
export const STAGE_COLORS = {
  registered: '#1f77b4',
  dispatched: '#7b4fc9',
  handling: '#ff8c00',
  verification: '#13a8b8',
  closed: '#3a9a3a',
  returned: '#8c564b',
  escalated: '#d6339c',
};
const OVERDUE_COLOR = '#e3262f';

/** The legal moves per stage (the server's workflow table); the buttons offer exactly these. */
export const STAGE_ACTIONS = {
  registered: ['dispatch', 'reassign', 'escalate'],
  dispatched: ['accept', 'return', 'escalate', 'reassign'],
  handling: ['submit', 'return', 'escalate', 'extend', 'reassign'],
  verification: ['close', 'rework'],
  returned: ['dispatch', 'reassign', 'escalate'],
  escalated: ['dispatch', 'reassign', 'escalate'],
  closed: [],
};
/** Actions that must say why (the server answers 422 without a reason). */
const NEEDS_REASON = new Set(['escalate', 'return', 'rework', 'extend']);
const CATEGORIES = ['01', '02', '03', '04', '05', '06', '07', '08', '09', '10', 'emergency'];
const CHANNELS = ['hotline_12345', 'patrol', 'video', 'transfer_110', 'app'];
const MAP_LIMIT = 2000;
const QUEUE_LIMIT = 1000;

/** A client id for idempotent intake: kept across retries of one form, new for the next report. */
function newClientId() {
  if (globalThis.crypto?.randomUUID) return `web-${crypto.randomUUID()}`;
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `web-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** The id of a report summary, whether it comes as a GeoJSON feature or a flat object. */
function idOf(summary) {
  return Number(summary?.id ?? summary?.properties?.id ?? summary?.report?.id);
}

function isOverdue(p, now = Date.now()) {
  if (p.stage === 'closed') return false;
  return Boolean(p.overdue) || (p.deadline != null && Date.parse(p.deadline) < now);
}

/** The [lon, lat] of a report, whatever shape the point has. */
function pointOf(report) {
  if (Number.isFinite(report.lon) && Number.isFinite(report.lat)) return [report.lon, report.lat];
  const p = report.point ?? report.location;
  if (Array.isArray(p)) return p;
  if (p && 'x' in p) return [p.x, p.y];
  if (p && 'lon' in p) return [p.lon, p.lat];
  if (p?.coordinates) return p.coordinates;
  return null;
}

/**
 * Sets up dispatcher mode on `map`. `ctx.lang()` is the current language; returns what app.js needs to switch
 * modes and languages, and the handles the browser test drives.
 */
export function initDispatch(map, ctx) {
  const t = (key) => STRINGS[ctx.lang()][key];
  const names = (group, key) => STRINGS[ctx.lang()][group]?.[key] ?? key;

  const state = {
    active: false,
    queue: [], // open report summaries (properties), soonest deadline first
    selected: null, // id of the report in the details panel
    detail: null, // the full report shown
    areaNames: new Map(), // area code → name (from /v1/grids/{code})
    panel: null, // 'detail' | 'new' | null
    draft: null, // the new-report form: {clientId, lngLat}
    actionError: null,
    formError: null,
    busy: false,
    live: 'connecting', // 'connecting' | 'open' | 'lost'
    events: 0, // server-sent events received (for the test and the status line)
    lastEvent: null,
  };
  let source = null;
  let draftMarker = null;
  let mapSeq = 0;
  let queueSeq = 0;
  let detailSeq = 0;

  // --- map layers -------------------------------------------------------------------------------

  function addLayers() {
    if (map.getSource('reports')) return;
    map.addSource('reports', {type: 'geojson', data: {type: 'FeatureCollection', features: []}});
    const visibility = state.active ? 'visible' : 'none';
    const stageColor = ['match', ['get', 'stage'], ...Object.entries(STAGE_COLORS).flat(), '#555555'];
    map.addLayer({
      id: 'reports-selected', type: 'circle', source: 'reports', layout: {visibility},
      filter: ['==', ['get', 'id'], -1],
      paint: {'circle-radius': 15, 'circle-color': 'rgba(29, 53, 87, 0.15)', 'circle-stroke-color': '#1d3557',
        'circle-stroke-width': 2.5},
    });
    map.addLayer({
      id: 'reports-overdue', type: 'circle', source: 'reports', layout: {visibility},
      filter: ['==', ['get', 'overdue'], true],
      paint: {'circle-radius': 11, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': OVERDUE_COLOR,
        'circle-stroke-width': 3},
    });
    map.addLayer({
      id: 'reports-circle', type: 'circle', source: 'reports', layout: {visibility},
      paint: {
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 11, 4, 15, 7, 18, 9],
        'circle-color': stageColor,
        'circle-opacity': ['case', ['==', ['get', 'stage'], 'closed'], 0.55, 0.95],
        'circle-stroke-color': '#ffffff',
        'circle-stroke-width': 1.5,
      },
    });
  }

  const REPORT_LAYERS = ['reports-selected', 'reports-overdue', 'reports-circle'];

  function setVisible(visible) {
    for (const id of REPORT_LAYERS) {
      if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', visible ? 'visible' : 'none');
    }
  }

  function highlight(id) {
    if (map.getLayer('reports-selected')) map.setFilter('reports-selected', ['==', ['get', 'id'], id ?? -1]);
  }

  /** Fetches the reports in the current view (`bbox`) into the map source. */
  async function refreshMap() {
    if (!state.active) return;
    const seq = ++mapSeq;
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(',');
    try {
      const fc = await getJson(`v1/reports?bbox=${bbox}&limit=${MAP_LIMIT}`);
      if (seq !== mapSeq) return;
      const now = Date.now();
      const features = (fc.features ?? []).map((f) => ({
        ...f,
        id: undefined,
        properties: {...f.properties, id: idOf(f), overdue: isOverdue(f.properties, now)},
      }));
      map.getSource('reports')?.setData({type: 'FeatureCollection', features});
      state.mapCount = features.length;
    } catch (error) {
      console.warn('reports on the map:', error.message);
    }
  }

  // --- queue -------------------------------------------------------------------------------------

  /** Every open report in the city, soonest deadline first (overdue ones lead). */
  async function refreshQueue() {
    if (!state.active) return;
    const seq = ++queueSeq;
    try {
      const fc = await getJson(`v1/reports?limit=${QUEUE_LIMIT}`);
      if (seq !== queueSeq) return;
      state.queue = (fc.features ?? [])
        .map((f) => ({...f.properties, id: idOf(f), lngLat: f.geometry?.coordinates}))
        .filter((p) => p.stage !== 'closed');
      sortQueue();
      await nameAreas(state.queue.map((p) => p.area_code));
      renderQueue();
    } catch (error) {
      console.warn('report queue:', error.message);
    }
  }

  function sortQueue() {
    const key = (p) => (p.deadline ? Date.parse(p.deadline) : Infinity);
    state.queue.sort((a, b) => key(a) - key(b) || a.id - b.id);
  }

  /** Looks up area names once per code (the summaries carry codes). */
  async function nameAreas(codes) {
    const missing = [...new Set(codes.filter((c) => c && !state.areaNames.has(c)))];
    await Promise.all(missing.map(async (code) => {
      try {
        const feature = await getJson(`v1/grids/${encodeURIComponent(code)}`);
        state.areaNames.set(code, feature.properties?.name ?? '');
      } catch {
        state.areaNames.set(code, '');
      }
    }));
  }

  function timeLeft(deadline, stage) {
    if (stage === 'closed') return {text: names('stages', 'closed'), overdue: false};
    if (!deadline) return {text: t('noDeadline'), overdue: false};
    const minutes = Math.round((Date.parse(deadline) - Date.now()) / 60000);
    const abs = Math.abs(minutes);
    const days = Math.floor(abs / 1440);
    const hours = Math.floor((abs % 1440) / 60);
    const mins = abs % 60;
    const parts = [];
    if (days) parts.push(`${days}${t('days')}`);
    if (hours) parts.push(`${hours}${t('hours')}`);
    if (!days) parts.push(`${mins}${t('minutes')}`);
    const span = parts.join(ctx.lang() === 'zh' ? '' : ' ');
    return minutes < 0
      ? {text: t('overdueBy').replace('{t}', span), overdue: true}
      : {text: t('timeLeft').replace('{t}', span), overdue: false};
  }

  function stageBadge(stage) {
    return `<span class="stage-badge" data-stage="${escapeHtml(stage)}" style="background:${
      STAGE_COLORS[stage] ?? '#555'}">${escapeHtml(names('stages', stage))}</span>`;
  }

  function areaLabel(code) {
    const name = state.areaNames.get(code);
    return `${name ? `${escapeHtml(name)} ` : ''}<code>${escapeHtml(code)}</code>`;
  }

  function renderQueue() {
    const ul = $('queue-list');
    $('queue-count').textContent = String(state.queue.length);
    if (state.queue.length === 0) {
      ul.innerHTML = `<li class="muted">${t('queueEmpty')}</li>`;
      return;
    }
    ul.innerHTML = state.queue.map((p) => {
      const left = timeLeft(p.deadline, p.stage);
      const overdue = left.overdue || p.overdue;
      return `<li class="queue-row${overdue ? ' overdue' : ''}${p.id === state.selected ? ' selected' : ''}"
        data-id="${p.id}" data-stage="${escapeHtml(p.stage)}">
        <div class="queue-top"><span class="queue-category">${escapeHtml(names('categories', p.category))}</span>
          ${stageBadge(p.stage)}</div>
        <div class="queue-area">${areaLabel(p.area_code)}</div>
        <div class="queue-time${overdue ? ' late' : ''}">#${p.id} · ${escapeHtml(left.text)}</div>
      </li>`;
    }).join('');
  }

  function renderLive() {
    const el = $('live-status');
    el.dataset.state = state.live;
    el.textContent = state.live === 'lost' ? t('liveLost') : `● ${t('live')}`;
    el.title = state.live === 'lost' ? t('liveLost') : '';
  }

  // --- details -----------------------------------------------------------------------------------

  /** Shows one report: route, staff, history and the actions its stage allows. */
  async function select(id, {fly = false} = {}) {
    state.selected = id;
    state.panel = 'detail';
    state.actionError = null;
    highlight(id);
    renderQueue();
    await loadDetail(id);
    if (fly && state.detail) {
      const at = pointOf(state.detail);
      if (at) map.easeTo({center: at, zoom: Math.max(map.getZoom(), 16), duration: 600});
    }
    return state.detail;
  }

  async function loadDetail(id) {
    const seq = ++detailSeq;
    try {
      const report = await getJson(`v1/reports/${id}`);
      if (seq !== detailSeq || state.selected !== id) return;
      await showDetail(report);
    } catch (error) {
      if (seq !== detailSeq) return;
      state.detail = null;
      state.actionError = error.message;
      renderPanel();
    }
  }

  async function showDetail(report) {
    if (report.area_name) state.areaNames.set(report.area_code, report.area_name);
    const codes = [report.area_code, report.route?.area_code, ...(report.events ?? []).map((e) => e.area_code)];
    await nameAreas(codes);
    state.detail = report;
    renderPanel();
  }

  function when(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    const pad = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  function person(label, member) {
    if (!member) return `<tr><th>${label}</th><td class="muted">${t('none')}</td></tr>`;
    const roles = STRINGS[ctx.lang()].roles;
    const phone = member.phone ?? '';
    return `<tr><th>${label}</th><td><span class="name">${escapeHtml(member.name)}</span>
      ${member.role ? `<span class="muted">${escapeHtml(roles[member.role] ?? member.role)}</span>` : ''}
      <a class="phone" href="tel:${escapeHtml(phone.replace(/[^\d+]/g, ''))}">${escapeHtml(phone)}</a></td></tr>`;
  }

  function detailHtml(r) {
    const left = timeLeft(r.deadline, r.stage);
    const overdue = left.overdue || r.overdue;
    const route = r.route ?? {};
    const rows = [
      [t('channel'), escapeHtml(names('channels', r.channel))],
      [t('receivedAt'), escapeHtml(when(r.received_at))],
      [t('reporter'), escapeHtml(r.reporter ?? '')],
      [t('deadline'), r.deadline
        ? `${escapeHtml(when(r.deadline))} <span class="${overdue ? 'late' : 'muted'}" id="report-time-left">${
          escapeHtml(left.text)}</span>`
        : `<span class="muted">${escapeHtml(left.text)}</span>`],
      [t('currentArea'), `<span id="report-area">${areaLabel(r.area_code)}</span>`],
      [t('assignee'), escapeHtml(r.assignee ?? '')],
    ].filter(([, v]) => v);
    const actions = STAGE_ACTIONS[r.stage] ?? [];
    const events = [...(r.events ?? [])].sort((a, b) => a.seq - b.seq);
    return `<section class="report-head${overdue ? ' overdue' : ''}" data-report-id="${r.id}">
        <div class="report-title"><span id="report-category">${escapeHtml(names('categories', r.category))}</span>
          <span class="muted">#<span id="report-id">${r.id}</span></span></div>
        <div><span id="report-stage" data-stage="${escapeHtml(r.stage)}">${stageBadge(r.stage)}</span>
          ${overdue ? `<span class="overdue-tag">${t('overdue')}</span>` : ''}</div>
        <p class="report-description">${escapeHtml(r.description)}</p>
      </section>
      <table class="facts">${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</table>
      <h3>${t('route')}</h3>
      <table class="facts route">
        <tr><th>${t('routeArea')}</th><td><code id="route-area-code">${escapeHtml(route.area_code)}</code>
          ${escapeHtml(state.areaNames.get(route.area_code) ?? '')}
          <span class="muted">${escapeHtml(STRINGS[ctx.lang()].levels[route.level] ?? route.level ?? '')}</span></td></tr>
        <tr><th>${t('rule')}</th><td><span id="route-rule" data-rule="${escapeHtml(route.rule)}">${
          escapeHtml(names('rules', route.rule))}</span>${route.distance_m > 0
          ? ` · ${t('distance')} ${Math.round(route.distance_m)} m` : ''}</td></tr>
        ${route.micro_grid_code ? `<tr><th>${t('microGrid')}</th><td><code>${
          escapeHtml(route.micro_grid_code)}</code></td></tr>` : ''}
        ${person(t('leader'), r.leader)}
        ${person(t('handler'), r.handler)}
        ${r.handler_reason ? `<tr><th>${t('handlerReason')}</th><td id="handler-reason">${
          escapeHtml(r.handler_reason)}</td></tr>` : ''}
      </table>
      ${r.area_code !== route.area_code && r.staff?.length ? `<h3>${t('currentStaff')}</h3>
        <table class="facts" id="current-staff">${r.staff.map((m) => person(
          escapeHtml(STRINGS[ctx.lang()].roles[m.role] ?? m.role), {...m, role: null})).join('')}</table>` : ''}
      <h3>${t('actions')}</h3>
      ${actions.length === 0 ? `<p class="muted">${t('noActions')}</p>` : `
      <div class="action-buttons">${actions.map((a) => `<button type="button" class="action" data-action="${a}"
        ${state.busy ? 'disabled' : ''}>${escapeHtml(names('actionNames', a))}</button>`).join('')}</div>
      <label class="field">${t('reason')}
        <textarea id="action-reason" rows="2" placeholder="${escapeHtml(t('reasonPlaceholder'))}"></textarea></label>
      ${actions.includes('reassign') ? `<label class="field">${t('areaCode')}
        <input id="action-area" type="text" spellcheck="false" autocomplete="off"
          placeholder="${escapeHtml(r.area_code)}"></label>` : ''}`}
      <p id="action-error" class="error" role="alert" ${state.actionError ? '' : 'hidden'}>${
        escapeHtml(state.actionError ?? '')}</p>
      <h3>${t('history')}</h3>
      <ol class="history">${events.map((e) => `<li data-action="${escapeHtml(e.action)}">
        <div><span class="when">${escapeHtml(when(e.at))}</span>
          <span class="actor">${escapeHtml(e.actor === 'system' ? t('system') : e.actor)}</span>
          <b>${escapeHtml(names('actionNames', e.action))}</b></div>
        <div class="move">${escapeHtml(names('stages', e.from))} → ${escapeHtml(names('stages', e.to))}
          · <code>${escapeHtml(e.area_code)}</code></div>
        ${e.reason ? `<div class="why">${escapeHtml(e.reason)}</div>` : ''}
      </li>`).join('')}</ol>`;
  }

  // --- new report form ---------------------------------------------------------------------------

  function openForm(lngLat = null) {
    state.panel = 'new';
    state.formError = null;
    if (!state.draft) state.draft = {clientId: newClientId(), lngLat: null};
    if (lngLat) setDraftLocation(lngLat);
    state.selected = null;
    highlight(null);
    renderQueue();
    renderPanel();
  }

  function setDraftLocation({lng, lat}) {
    state.draft.lngLat = {lng, lat};
    if (!draftMarker) draftMarker = new maplibregl.Marker({color: '#1d3557'});
    draftMarker.setLngLat([lng, lat]).addTo(map);
    const el = $('new-location');
    if (el) {
      el.textContent = `${lng.toFixed(6)}, ${lat.toFixed(6)}`;
      el.classList.remove('muted');
    }
  }

  function closeForm() {
    state.draft = null;
    if (draftMarker) draftMarker.remove();
    state.panel = null;
    renderPanel();
  }

  function formHtml() {
    const d = state.draft;
    const options = (list, group) => list.map((v) => `<option value="${v}">${
      escapeHtml(names(group, v))}</option>`).join('');
    return `<h3>${t('newReport')}</h3>
      <form id="new-report-form" autocomplete="off">
        <div class="field">${t('location')}
          <div id="new-location" class="${d.lngLat ? '' : 'muted'}">${d.lngLat
            ? `${d.lngLat.lng.toFixed(6)}, ${d.lngLat.lat.toFixed(6)}` : t('pickLocation')}</div></div>
        <label class="field">${t('channel')}<select id="new-channel">${options(CHANNELS, 'channels')}</select></label>
        <label class="field">${t('category')}<select id="new-category">${options(CATEGORIES, 'categories')}</select></label>
        <label class="field">${t('description')}<textarea id="new-description" rows="3" maxlength="2000"></textarea></label>
        <label class="field">${t('reporter')}<input id="new-reporter" type="text"></label>
        <p id="new-error" class="error" role="alert" ${state.formError ? '' : 'hidden'}>${
          escapeHtml(state.formError ?? '')}</p>
        <div class="action-buttons">
          <button type="submit" id="new-submit" ${state.busy ? 'disabled' : ''}>${t('submitReport')}</button>
          <button type="button" id="new-cancel">${t('cancel')}</button>
        </div>
      </form>`;
  }

  function showFormError(message) {
    state.formError = message;
    const el = $('new-error');
    if (el) {
      el.textContent = message;
      el.hidden = false;
    }
  }

  /** Posts the form; a retry after a failure reuses the client id, so the report is never entered twice. */
  async function submitForm() {
    const d = state.draft;
    if (!d?.lngLat) {
      showFormError(t('pickLocation'));
      return null;
    }
    const reporter = $('new-reporter').value.trim();
    const body = {
      client_id: d.clientId,
      channel: $('new-channel').value,
      category: $('new-category').value,
      location: {lon: d.lngLat.lng, lat: d.lngLat.lat, crs: 'wgs84'},
      description: $('new-description').value.trim(),
      ...(reporter ? {reporter} : {}),
    };
    state.busy = true;
    $('new-submit').disabled = true;
    try {
      const report = await postJson('v1/reports', body);
      state.busy = false;
      state.draft = null;
      if (draftMarker) draftMarker.remove();
      refreshSoon();
      const id = idOf(report);
      state.selected = id;
      state.panel = 'detail';
      state.actionError = null;
      highlight(id);
      await showDetail(report.events ? report : await getJson(`v1/reports/${id}`));
      return report;
    } catch (error) {
      state.busy = false;
      $('new-submit').disabled = false;
      showFormError(`${error.status ? `${error.status} · ` : ''}${error.message}`);
      return null;
    }
  }

  // --- actions -----------------------------------------------------------------------------------

  function showActionError(message) {
    state.actionError = message;
    const el = $('action-error');
    if (el) {
      el.textContent = message;
      el.hidden = !message;
    }
  }

  /** Sends `action` on the shown report; any refusal (409 illegal or stale, 422) is shown to the dispatcher. */
  async function act(action) {
    const r = state.detail;
    if (!r) return null;
    const reason = $('action-reason')?.value.trim() || null;
    const areaCode = $('action-area')?.value.trim() || null;
    if (NEEDS_REASON.has(action) && !reason) {
      showActionError(t('reasonRequired'));
      return null;
    }
    if (action === 'reassign' && !areaCode) {
      showActionError(t('areaRequired'));
      return null;
    }
    const body = {
      action,
      actor: actor(),
      version: r.version,
      ...(reason ? {reason} : {}),
      ...(action === 'reassign' ? {area_code: areaCode} : {}),
    };
    state.busy = true;
    for (const b of document.querySelectorAll('#report-panel button.action')) b.disabled = true;
    try {
      const updated = await postJson(`v1/reports/${r.id}/actions`, body);
      state.busy = false;
      state.actionError = null;
      refreshSoon();
      if (state.selected === r.id) await showDetail(updated.events ? updated : await getJson(`v1/reports/${r.id}`));
      return updated;
    } catch (error) {
      state.busy = false;
      for (const b of document.querySelectorAll('#report-panel button.action')) b.disabled = false;
      showActionError(`${error.status ? `${error.status} · ` : ''}${error.message}`);
      return null;
    }
  }

  function actor() {
    const typed = $('actor-input').value.trim();
    return typed || t('actorDefault');
  }

  // --- panel -------------------------------------------------------------------------------------

  function renderPanel() {
    const panel = $('report-panel');
    const body = $('report-panel-body');
    if (!state.active || !state.panel) {
      panel.hidden = true;
      body.innerHTML = '';
      return;
    }
    panel.hidden = false;
    if (state.panel === 'new') body.innerHTML = formHtml();
    else if (state.detail && state.detail.id === state.selected) {
      // A live update re-renders the report: keep what the dispatcher was typing.
      const shown = Number(body.querySelector('[data-report-id]')?.dataset.reportId);
      const typed = ['action-reason', 'action-area'].map((id) => [id, $(id)?.value]);
      body.innerHTML = detailHtml(state.detail);
      if (shown === state.detail.id) for (const [id, value] of typed) if ($(id) && value) $(id).value = value;
    }
    else if (state.actionError) body.innerHTML = `<p class="error">${escapeHtml(state.actionError)}</p>`;
    else body.innerHTML = `<p class="muted">${t('loading')}</p>`;
  }

  $('report-panel-body').addEventListener('click', (e) => {
    const button = e.target.closest('button.action');
    if (button) act(button.dataset.action);
    if (e.target.closest('#new-cancel')) closeForm();
  });
  $('report-panel-body').addEventListener('submit', (e) => {
    e.preventDefault();
    submitForm();
  });
  $('report-panel-close').addEventListener('click', () => {
    if (state.panel === 'new') closeForm();
    state.panel = null;
    state.selected = null;
    state.detail = null;
    highlight(null);
    renderQueue();
    renderPanel();
  });
  $('queue-list').addEventListener('click', (e) => {
    const row = e.target.closest('li[data-id]');
    if (row) select(Number(row.dataset.id), {fly: true});
  });
  $('new-report').addEventListener('click', () => openForm());
  $('actor-input').value = localStorage.getItem('gridmap.actor') ?? '';
  $('actor-input').addEventListener('change', (e) => localStorage.setItem('gridmap.actor', e.target.value.trim()));

  // --- map interaction ---------------------------------------------------------------------------

  map.on('click', (e) => {
    if (!state.active) return;
    if (state.panel === 'new') {
      setDraftLocation(e.lngLat);
      return;
    }
    if (!map.getLayer('reports-circle')) return;
    const hit = map.queryRenderedFeatures(e.point, {layers: ['reports-circle']})[0];
    if (hit) select(Number(hit.properties.id));
  });
  map.on('mousemove', 'reports-circle', () => {
    if (state.active) map.getCanvas().style.cursor = 'pointer';
  });
  map.on('moveend', () => refreshMap());

  // --- live updates ------------------------------------------------------------------------------

  let refreshTimer = null;
  /** Coalesces bursts of events into one refetch of the map and the queue. */
  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => {
      refreshMap();
      refreshQueue();
    }, 120);
  }

  function connect() {
    if (source) return;
    state.live = 'connecting';
    source = new EventSource('v1/reports/stream');
    source.addEventListener('open', () => {
      state.live = 'open';
      renderLive();
      // Events may have been missed while disconnected.
      refreshSoon();
    });
    source.addEventListener('error', () => {
      state.live = source && source.readyState === EventSource.OPEN ? 'open' : 'lost';
      renderLive();
    });
    const onEvent = (e) => {
      let summary = null;
      try {
        summary = JSON.parse(e.data);
      } catch {
        return;
      }
      state.events += 1;
      state.lastEvent = summary;
      refreshSoon();
      const id = idOf(summary);
      if (id === state.selected && state.panel === 'detail' && !state.busy) loadDetail(id);
    };
    source.addEventListener('report', onEvent);
    source.addEventListener('message', onEvent);
    // The server dropped events for this slow client: reload what is shown.
    source.addEventListener('lagged', () => {
      refreshSoon();
      if (state.selected != null && state.panel === 'detail' && !state.busy) loadDetail(state.selected);
    });
    renderLive();
  }

  function disconnect() {
    if (source) source.close();
    source = null;
  }

  // Time left changes by itself: redraw the queue and the overdue rings every 30 s.
  setInterval(() => {
    if (!state.active) return;
    renderQueue();
    refreshMap();
  }, 30000);

  // --- mode and language -------------------------------------------------------------------------

  function renderLegend() {
    const rows = Object.entries(STAGE_COLORS).map(([stage, color]) => `<div><span class="dot" style="background:${
      color}"></span>${escapeHtml(names('stages', stage))}</div>`);
    rows.push(`<div><span class="dot ring"></span>${t('overdueLegend')}</div>`);
    $('report-legend-body').innerHTML = rows.join('');
  }

  function render() {
    renderLegend();
    renderLive();
    renderQueue();
    if (state.panel === 'new') {
      // Keep what was typed while the labels change language.
      const kept = ['new-channel', 'new-category', 'new-description', 'new-reporter']
        .map((id) => [id, $(id)?.value]);
      renderPanel();
      for (const [id, value] of kept) if ($(id) && value != null) $(id).value = value;
    } else {
      renderPanel();
    }
  }

  function enter() {
    state.active = true;
    if (map.isStyleLoaded()) addLayers();
    else map.once('load', () => {
      addLayers();
      refreshMap();
    });
    setVisible(true);
    connect();
    render();
    refreshMap();
    refreshQueue();
  }

  function leave() {
    state.active = false;
    setVisible(false);
    disconnect();
    if (draftMarker) draftMarker.remove();
    renderPanel();
  }

  map.on('load', addLayers);

  return {enter, leave, render, select, act, openForm, submitForm, refreshMap, refreshQueue, state,
    useAddress(lngLat) {
      if (state.active && state.panel === 'new') setDraftLocation(lngLat);
    }};
}
