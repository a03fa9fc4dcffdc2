// Planner mode (规划): redraw a community's grids as a plan (split along a drawn line, merge, reshape with
// snapping to the neighbours, rename), see the server's validation problems drawn in red and the impact list,
// and commit. A reshape is topology-preserving by default: its dragged vertices and midpoints are sent as
// `move_vertex` edits, which move the shared vertex or edge for every neighbour too (see `vertexMoves`). Drawing is terra-draw's (vendored UMD build: `window.terraDraw`, `window.terraDrawMaplibreGlAdapter`);
// every check is the server's (`/v1/plans`), so the page never decides what is valid.
//
// History slider: the instants at which the community's grids got a version (`/v1/grids/{code}/history`);
// moving it redraws the grid tiles as they were then (`at=` on tiles) and hides the draft, which is of now.

import {$, EMPTY, bboxOf, escapeHtml, requestJson} from './util.js';

const PLAN_FILL = '#457b9d';
const NEW_FILL = '#2a9d8f';
const PROBLEM_COLOR = '#e63946';
// Problems that were there before the plan (a river nobody declared, an old sliver): drawn, never blocking.
const EXISTING_COLOR = '#9a8c98';

const TEXT = {
  zh: {
    title: '网格规划', community: '社区', grids: '网格', tools: '工具', split: '画线拆分', merge: '合并所选',
    reshape: '修改边界', applyShape: '应用边界', rename: '改名', edits: '编辑', check: '保存并检查', commit: '提交',
    abandon: '放弃', problems: '问题', impact: '影响', clean: '检查通过：无问题', name: '方案名称', author: '编制人',
    reason: '事由', addresses: '地址', microGrids: '微网格', staff: '人员', reports: '在办事件', exclusive: '专属网格',
    drawHint: '在地图上画一条穿过网格的线，双击结束', pickTwo: '请至少选择两个网格', pickOne: '请选择一个网格',
    newName: '新名称', committed: '已提交', conflict: '冲突（409）：', invalid: '不能提交（422）：', none: '无',
    history: '历史', now: '现在', undo: '撤销上一步', nothingToUndo: '没有可撤销的编辑', undone: '已撤销：',
    gridCount: '网格数', problemCount: '问题数', topology: '邻接边界同步移动',
    topologyHint: '拖动的顶点和边在相邻网格、微网格和社区边界上同步移动；取消则只改本网格',
    moveVertex: '移动顶点', alone: '无法按顶点移动表达（删除了顶点、一条边上插入多个点或整圈替换），已只修改本网格的边界',
    unchanged: '边界没有改动',
    existingCount: '原有问题', existingNote: '方案之前已存在、方案未改变的问题，不影响提交',
    blocked: '请先解决本方案造成的问题',
  },
  en: {
    title: 'Grid planning', community: 'Community', grids: 'Grids', tools: 'Tools', split: 'Split by line',
    merge: 'Merge selected', reshape: 'Reshape', applyShape: 'Apply shape', rename: 'Rename', edits: 'Edits',
    check: 'Save & check', commit: 'Commit', abandon: 'Abandon', problems: 'Problems', impact: 'Impact',
    clean: 'Checks passed: no problems', name: 'Plan name', author: 'Author', reason: 'Reason', addresses: 'Addresses',
    microGrids: 'Micro-grids', staff: 'Staff', reports: 'Open reports', exclusive: 'Exclusive grids',
    drawHint: 'Draw a line across a grid on the map, double-click to finish', pickTwo: 'Select at least two grids',
    pickOne: 'Select one grid', newName: 'New name', committed: 'Committed', conflict: 'Conflict (409): ',
    invalid: 'Cannot commit (422): ', none: 'none', history: 'History', now: 'now', undo: 'Undo last edit',
    nothingToUndo: 'No edit to undo', undone: 'Undone: ', gridCount: 'Grids', problemCount: 'Problems',
    topology: 'Move shared boundaries with it',
    topologyHint: 'Dragged vertices and edges move for the neighbouring grids, micro-grids and the community too; off: this grid alone',
    moveVertex: 'Move vertex', alone: 'Not expressible as vertex moves (vertices deleted, several points on one edge or the ring replaced): reshaped this grid alone',
    unchanged: 'The boundary is unchanged',
    existingCount: 'Existing problems', existingNote: 'There before this plan and left as they were: they do not block the commit',
    blocked: 'Resolve the problems this plan makes first',
  },
};

// Two positions this close (degrees, about 1 mm) are one vertex: terra-draw keeps 9 decimals, stored vertices 7.
const SAME_DEG = 1e-8;
// `tolerance_m` of the move_vertex edits: the original vertex (or edge midpoint) is exact, so this only has to
// absorb rounding, and stays well below the distance between two vertices of one boundary.
const MOVE_TOLERANCE_M = 0.5;

const samePlace = (p, q) => Math.abs(p[0] - q[0]) <= SAME_DEG && Math.abs(p[1] - q[1]) <= SAME_DEG;
const midpoint = (p, q) => [(p[0] + q[0]) / 2, (p[1] + q[1]) / 2];

/** Metres between two lon/lat positions (local flat approximation, enough at the scale of a grid). */
function metres(p, q) {
  const my = 111320;
  const mx = my * Math.cos(((p[1] + q[1]) / 2) * Math.PI / 180);
  return Math.hypot((q[0] - p[0]) * mx, (q[1] - p[1]) * my);
}

/** A ring without its closing position. */
const openRing = (ring) => (ring.length > 1 && samePlace(ring[0], ring[ring.length - 1]) ? ring.slice(0, -1) : ring);

/**
 * One ring's change as moves: original vertices dragged (`from` the original position) and vertices inserted
 * on an original edge (terra-draw's midpoints) and dragged (`from` the midpoint of the edge they split, once
 * the dragged originals are in place). Null when the change is not that: vertices deleted, more than one
 * vertex inserted on one edge, or most of the ring replaced. Originals that stayed put anchor the alignment;
 * between two anchors, when it is ambiguous which edited vertex is an inserted one, the reading that moves
 * the boundary least is taken.
 */
function ringMoves(original, edited) {
  const o = openRing(original);
  const e = openRing(edited);
  const n = o.length;
  const m = e.length;
  if (m < n) return null;
  const anchors = [];
  for (let j = 0; j < m; j++) {
    const i = o.findIndex((p) => samePlace(p, e[j]));
    if (i >= 0) anchors.push([i, j]);
  }
  if (anchors.length === 0 || anchors.length * 2 < n) return null;
  const step = (a, b, len) => ((b - a + len) % len) || len;
  // The anchors must go round the original ring once, in order (else vertices were swapped or reordered).
  let round = 0;
  for (let k = 0; k < anchors.length; k++) round += step(anchors[k][0], anchors[(k + 1) % anchors.length][0], n);
  if (round !== n) return null;
  const moved = [];
  const inserted = [];
  for (let k = 0; k < anchors.length; k++) {
    const [i0, j0] = anchors[k];
    const [i1, j1] = anchors[(k + 1) % anchors.length];
    const olds = Array.from({length: step(i0, i1, n) - 1}, (_, t) => o[(i0 + 1 + t) % n]);
    const news = Array.from({length: step(j0, j1, m) - 1}, (_, t) => (j0 + 1 + t) % m);
    const labels = alignGap(olds, news.map((j) => e[j]), (t) => {
      const j = news[t];
      return metres(e[j], midpoint(e[(j + m - 1) % m], e[(j + 1) % m]));
    });
    if (!labels) return null;
    labels.forEach((label, t) => {
      const j = news[t];
      if (label === 'inserted') {
        const from = midpoint(e[(j + m - 1) % m], e[(j + 1) % m]);
        if (!samePlace(from, e[j])) inserted.push({from, to: e[j]});
      } else if (!samePlace(olds[label], e[j])) {
        moved.push({from: olds[label], to: e[j]});
      }
    });
  }
  return [...moved, ...inserted];
}

/**
 * Between two anchors: which of the edited vertices `news` are the originals `olds` (in order) and which were
 * inserted (at most one per original edge, so never two in a row). Returns for each edited vertex the index
 * of its original or 'inserted', choosing the reading with the least total displacement; null if none fits.
 */
function alignGap(olds, news, insertedCost) {
  const g = olds.length;
  const h = news.length;
  if (h < g || h - g > g + 1) return null;
  // best[x][y][p]: least cost with x edited and y originals used, p = 1 when the last edited vertex was inserted;
  // came[x][y][0]: whether the state before a matched original ended with an inserted vertex.
  const table = () => Array.from({length: h + 1}, () => Array.from({length: g + 1}, () => [Infinity, Infinity]));
  const best = table();
  const came = table();
  best[0][0][0] = 0;
  for (let x = 0; x < h; x++) {
    for (let y = 0; y <= g; y++) {
      for (const p of [0, 1]) {
        const cost = best[x][y][p];
        if (cost === Infinity) continue;
        const matched = y < g ? cost + metres(olds[y], news[x]) : Infinity;
        if (matched < Infinity && matched < best[x + 1][y + 1][0]) {
          best[x + 1][y + 1][0] = matched;
          came[x + 1][y + 1][0] = p;
        }
        if (!p && x - y < h - g && cost + insertedCost(x) < best[x + 1][y][1]) best[x + 1][y][1] = cost + insertedCost(x);
      }
    }
  }
  let p = best[h][g][0] <= best[h][g][1] ? 0 : 1;
  if (best[h][g][p] === Infinity) return null;
  const labels = new Array(h);
  for (let x = h, y = g; x > 0; x--) {
    if (p === 1) {
      labels[x - 1] = 'inserted';
      p = 0;
    } else {
      labels[x - 1] = y - 1;
      p = came[x][y][0];
      y -= 1;
    }
  }
  return labels;
}

/**
 * The edited polygon as move_vertex edits against the original (both GeoJSON Polygons), in the order the
 * server must apply them; [] when nothing moved, null when the change cannot be expressed as vertex moves.
 */
export function vertexMoves(original, edited) {
  const before = original?.coordinates ?? [];
  const after = edited?.coordinates ?? [];
  if (before.length === 0 || before.length !== after.length) return null;
  const moves = [];
  for (let k = 0; k < before.length; k++) {
    const ring = ringMoves(before[k], after[k]);
    if (!ring) return null;
    moves.push(...ring);
  }
  // Each edit moves whatever lies within the tolerance of its `from` at its turn: a vertex dragged onto (or
  // next to) a later one's original place would take that one along, so such a change is not sent as moves.
  for (let a = 0; a < moves.length; a++) {
    for (let b = a + 1; b < moves.length; b++) {
      if (metres(moves[a].to, moves[b].from) <= 2 * MOVE_TOLERANCE_M
        || metres(moves[a].from, moves[b].from) <= 2 * MOVE_TOLERANCE_M) return null;
    }
  }
  return moves.map(({from, to}) => ({op: 'move_vertex', from, to, tolerance_m: MOVE_TOLERANCE_M}));
}

export function initPlanner(map, ctx) {
  const tr = (key) => TEXT[ctx.lang()][key] ?? key;
  const state = {
    active: false,
    communities: [],
    community: new URLSearchParams(location.search).get('community') || null,
    grids: [], // the community's grid features as they are now
    selected: new Set(),
    edits: [],
    plan: null, // the server's answer for the saved plan
    message: '',
    messageKind: '',
    tool: null, // 'split' | 'reshape'
    reshapeCode: null,
    reshapeFrom: null, // the Polygon loaded into terra-draw, as the plan had it: what a reshape is compared with
    topology: true, // a reshape moves shared vertices and edges for the neighbours too (the toggle)
    nextCode: 1,
    history: [], // instants (RFC 3339) at which the community's grids got a version
    historyIndex: 0, // position of the history slider; history.length is now
    tilesAt: null, // the `at=` the grid tiles are drawn at, null for now
  };
  let draw = null;
  // What the page knows about an edit beyond what the server keeps: the grid a move_vertex was dragged on and
  // the reshape it came from (its moves are undone together). Keyed by the edit object, never sent.
  const origin = new WeakMap();
  let reshapes = 0;

  // --- map layers ---------------------------------------------------------------------------------
  function addLayers() {
    if (map.getSource('plan-grids')) return;
    map.addSource('plan-grids', {type: 'geojson', data: EMPTY});
    map.addSource('plan-problems', {type: 'geojson', data: EMPTY});
    map.addSource('plan-existing', {type: 'geojson', data: EMPTY});
    map.addLayer({id: 'plan-fill', type: 'fill', source: 'plan-grids', paint: {
      'fill-color': ['case', ['==', ['get', 'change'], 'new'], NEW_FILL, PLAN_FILL],
      'fill-opacity': ['case', ['boolean', ['get', 'selected'], false], 0.55, 0.25],
    }});
    map.addLayer({id: 'plan-line', type: 'line', source: 'plan-grids', paint: {'line-color': '#1d3557', 'line-width': 2}});
    map.addLayer({id: 'plan-label', type: 'symbol', source: 'plan-grids', layout: {
      'text-field': ['concat', ['slice', ['get', 'code'], 12], '\n', ['get', 'name']], 'text-size': 11,
    }, paint: {'text-halo-color': '#fff', 'text-halo-width': 1.2}});
    map.addLayer({id: 'plan-existing-fill', type: 'fill', source: 'plan-existing', paint: {
      'fill-color': EXISTING_COLOR, 'fill-opacity': 0.3,
    }});
    map.addLayer({id: 'plan-existing-line', type: 'line', source: 'plan-existing', paint: {
      'line-color': EXISTING_COLOR, 'line-width': 1.5, 'line-dasharray': [2, 2],
    }});
    map.addLayer({id: 'plan-problem-fill', type: 'fill', source: 'plan-problems', paint: {
      'fill-color': PROBLEM_COLOR, 'fill-opacity': 0.5,
    }});
    map.addLayer({id: 'plan-problem-line', type: 'line', source: 'plan-problems', paint: {
      'line-color': PROBLEM_COLOR, 'line-width': 3,
    }});
    map.on('click', 'plan-fill', (e) => {
      if (!state.active || state.tool) return;
      const code = e.features?.[0]?.properties?.code;
      if (!code) return;
      if (state.selected.has(code)) state.selected.delete(code);
      else state.selected.add(code);
      paint();
      render();
    });
  }

  function setVisible(visible) {
    for (const id of ['plan-fill', 'plan-line', 'plan-label', 'plan-existing-fill', 'plan-existing-line', 'plan-problem-fill',
      'plan-problem-line']) {
      if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', visible ? 'visible' : 'none');
    }
  }

  /** The community's grids after the saved plan (its `changed` areas replace or add to them). */
  function gridsAfter() {
    const byCode = new Map(state.grids.map((f) => [f.properties.code, f]));
    for (const f of state.plan?.changed?.features ?? []) {
      if (f.properties.level !== 'grid') continue;
      if (f.properties.change === 'retired') byCode.delete(f.properties.code);
      else byCode.set(f.properties.code, f);
    }
    return [...byCode.values()];
  }

  function paint() {
    if (!map.getSource('plan-grids')) return;
    const features = gridsAfter().map((f) => ({
      ...f, properties: {...f.properties, selected: state.selected.has(f.properties.code)},
    }));
    map.getSource('plan-grids').setData({type: 'FeatureCollection', features});
    map.getSource('plan-problems').setData(state.plan?.problems ?? EMPTY);
    map.getSource('plan-existing').setData(state.plan?.existing_problems ?? EMPTY);
  }

  // --- terra-draw ---------------------------------------------------------------------------------
  function startDraw() {
    if (draw || !window.terraDraw) return;
    const td = window.terraDraw;
    const adapter = new window.terraDrawMaplibreGlAdapter.TerraDrawMapLibreGLAdapter({map});
    draw = new td.TerraDraw({
      adapter,
      modes: [
        new td.TerraDrawLineStringMode({snapping: {toCoordinate: true, toLine: true}}),
        new td.TerraDrawSelectMode({flags: {polygon: {feature: {coordinates: {
          draggable: true, midpoints: true, deletable: true, snappable: {toCoordinate: true, toLine: true},
        }}}}}),
        // Neighbours, drawn but not editable: what reshaping snaps to.
        new td.TerraDrawRenderMode({modeName: 'neighbours', styles: {
          polygonFillOpacity: 0, polygonOutlineColor: '#888888', polygonOutlineWidth: 1,
        }}),
      ],
    });
    draw.start();
    draw.on('finish', (id, context) => {
      if (context?.action !== 'draw' || state.tool !== 'split') return;
      const feature = draw.getSnapshot().find((f) => f.id === id);
      if (feature?.geometry?.type === 'LineString') useSplitLine(feature.geometry.coordinates);
    });
  }

  function clearDraw() {
    if (!draw) return;
    draw.clear();
    draw.setMode('static');
  }

  // --- tools --------------------------------------------------------------------------------------
  function newCode() {
    // Codes of today's grids stay taken even when the plan retires them (a code is never reused).
    const codes = new Set([...state.grids, ...gridsAfter()].map((f) => f.properties.code));
    for (const e of state.edits) for (const c of e.new_codes ?? []) codes.add(c);
    let n = 1;
    const prefix = state.community;
    while (codes.has(`${prefix}${String(n).padStart(3, '0')}`)) n += 1;
    return `${prefix}${String(n).padStart(3, '0')}`;
  }

  function startSplit() {
    startDraw();
    if (!draw) return;
    state.tool = 'split';
    draw.setMode('linestring');
    say(tr('drawHint'));
  }

  /** A drawn line: split the grid it crosses (the selected one, else the one under the line's middle). */
  function useSplitLine(coordinates) {
    const line = {type: 'LineString', coordinates};
    const crossed = [...state.selected][0] ?? gridUnder(coordinates[Math.floor(coordinates.length / 2)]);
    state.tool = null;
    clearDraw();
    if (!crossed) {
      say(tr('pickOne'), 'error');
      return null;
    }
    const grid = gridsAfter().find((f) => f.properties.code === crossed);
    const edit = {
      op: 'split', code: crossed, lines: [line], new_codes: [crossed, newCode()],
      new_names: [`${grid?.properties?.name ?? crossed}1`, `${grid?.properties?.name ?? crossed}2`],
    };
    return addEdit(edit);
  }

  function gridUnder([lon, lat]) {
    const inside = (ring) => {
      let hit = false;
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const [xi, yi] = ring[i];
        const [xj, yj] = ring[j];
        if ((yi > lat) !== (yj > lat) && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) hit = !hit;
      }
      return hit;
    };
    const holds = (g) => (g.type === 'Polygon' ? [g.coordinates] : g.coordinates)
      .some((p) => inside(p[0]) && !p.slice(1).some(inside));
    return gridsAfter().find((f) => holds(f.geometry))?.properties?.code;
  }

  function merge() {
    const codes = [...state.selected];
    if (codes.length < 2) return say(tr('pickTwo'), 'error');
    // The first in the list's order keeps its code, name and staff.
    const order = gridsAfter().map((f) => f.properties.code);
    codes.sort((a, b) => order.indexOf(a) - order.indexOf(b));
    const keeper = gridsAfter().find((f) => f.properties.code === codes[0]);
    return addEdit({op: 'merge', codes, into_code: codes[0], into_name: keeper?.properties?.name ?? codes[0]});
  }

  function rename() {
    const codes = [...state.selected];
    if (codes.length !== 1) return say(tr('pickOne'), 'error');
    const name = $('plan-new-name').value.trim();
    if (!name) return undefined;
    $('plan-new-name').value = '';
    return addEdit({op: 'rename', code: codes[0], new_name: name});
  }

  /** Loads the selected grid into terra-draw's select mode, its neighbours as snapping targets. */
  function startReshape() {
    const codes = [...state.selected];
    if (codes.length !== 1) return say(tr('pickOne'), 'error');
    startDraw();
    if (!draw) return undefined;
    clearDraw();
    const grids = gridsAfter();
    const polygon = (f, mode) => ({
      type: 'Feature', geometry: f.geometry.type === 'Polygon' ? f.geometry
        : {type: 'Polygon', coordinates: [f.geometry.coordinates[0][0]]}, properties: {mode, code: f.properties.code},
    });
    const target = grids.find((f) => f.properties.code === codes[0]);
    draw.addFeatures(grids.filter((f) => f !== target).map((f) => polygon(f, 'neighbours')));
    const loaded = polygon(target, 'select');
    const [added] = draw.addFeatures([loaded]);
    draw.setMode('select');
    if (added?.id !== undefined) draw.selectFeature(added.id);
    state.tool = 'reshape';
    state.reshapeCode = codes[0];
    state.reshapeFrom = loaded.geometry;
    render();
    return undefined;
  }

  /**
   * The shape drawn becomes edits: with the toggle on, its dragged vertices and midpoints as move_vertex edits
   * (the neighbours, micro-grids and community move with them); the plain reshape of this grid alone when the
   * toggle is off or the change is not vertex moves.
   */
  function applyShape() {
    if (state.tool !== 'reshape' || !draw) return undefined;
    const edited = draw.getSnapshot().find((f) => f.properties.mode === 'select');
    const code = state.reshapeCode;
    state.tool = null;
    clearDraw();
    if (!edited) return render();
    if (state.topology) {
      const moves = vertexMoves(state.reshapeFrom, edited.geometry);
      if (moves?.length === 0) return say(tr('unchanged'));
      if (moves) {
        reshapes += 1;
        for (const move of moves) origin.set(move, {code, reshape: reshapes});
        return addEdits(moves);
      }
    }
    return addEdits([{op: 'reshape', code, geometry: edited.geometry}], state.topology ? tr('alone') : '');
  }

  /** Replaces the shape being reshaped through terra-draw's API, as dragging its vertices would. */
  function reshapeTo(geometry) {
    if (state.tool !== 'reshape' || !draw) return false;
    const edited = draw.getSnapshot().find((f) => f.properties.mode === 'select');
    if (!edited) return false;
    draw.updateFeatureGeometry(edited.id, geometry);
    return true;
  }

  /** Takes back the newest edit (all the moves of one reshape together); the plan is checked again without it. */
  function undo() {
    if (!state.edits.length) return say(tr('nothingToUndo'), 'error');
    const last = state.edits[state.edits.length - 1];
    const reshape = origin.get(last)?.reshape;
    let keep = state.edits.length - 1;
    while (reshape !== undefined && keep > 0 && origin.get(state.edits[keep - 1])?.reshape === reshape) keep -= 1;
    const count = state.edits.length - keep;
    return setEdits(state.edits.slice(0, keep), `${tr('undone')}${describeEdit(last)}${count > 1 ? ` (+${count - 1})` : ''}`);
  }

  /** A new edit: the grids it was made on are no longer selected, ready for the next one. */
  function addEdit(edit) {
    return addEdits([edit]);
  }

  function addEdits(edits, note = '') {
    state.selected.clear();
    paint();
    return setEdits([...state.edits, ...edits], note);
  }

  /** Saves `edits` as the plan's; when the server refuses them (422), the edits before stay. */
  async function setEdits(edits, note = '') {
    const previous = state.edits;
    state.edits = edits;
    render();
    const answer = await save();
    if (answer.status === 422) {
      state.edits = previous;
      render();
    } else if (note && answer.status < 300) {
      say(`${note}${state.message ? ` · ${state.message}` : ''}`, state.messageKind);
    }
    return answer;
  }

  // --- the plan on the server ---------------------------------------------------------------------
  function say(message, kind = '') {
    state.message = message;
    state.messageKind = kind;
    render();
  }

  async function save() {
    const body = {
      name: $('plan-name').value || `${state.community} 网格调整`,
      author: $('plan-author').value || 'planner',
      reason: $('plan-reason').value || '网格调整',
      edits: state.edits,
    };
    const answer = state.plan?.status === 'draft'
      ? await requestJson('PUT', `/v1/plans/${state.plan.id}`, {edits: state.edits, name: body.name}, state.plan.version)
      : await requestJson('POST', '/v1/plans', body);
    if (answer.status === 200 || answer.status === 201) {
      state.plan = answer.body;
      say(answer.body.valid ? tr('clean') : '', answer.body.valid ? 'ok' : '');
    } else {
      // The detail names the refused edit (`edits/INDEX/FIELD`); the caller puts the edits back as they were.
      say(`${answer.status}: ${answer.body?.detail ?? ''}`, 'error');
    }
    paint();
    render();
    return answer;
  }

  async function commit() {
    if (!state.plan) return null;
    const answer = await requestJson('POST', `/v1/plans/${state.plan.id}/commit`, undefined, state.plan.version);
    if (answer.status === 200) {
      say(`${tr('committed')}: ${Object.entries(answer.body.versions ?? {}).map(([c, v]) => `${c} v${v}`).join(', ')}`, 'ok');
      state.plan = null;
      state.edits = [];
      await loadCommunity(state.community);
      ctx.refreshTiles?.();
    } else if (answer.status === 409) {
      const moved = (answer.body?.moved ?? []).map((m) => `${m.code} v${m.expected}→${m.current ?? '×'}`).join(', ');
      say(`${tr('conflict')}${answer.body?.detail ?? ''} ${moved}`, 'error');
    } else if (answer.status === 422) {
      if (answer.body?.problems) state.plan = {...state.plan, problems: answer.body.problems};
      say(`${tr('invalid')}${answer.body?.detail ?? ''}`, 'error');
      paint();
    } else {
      say(`${answer.status}: ${answer.body?.detail ?? ''}`, 'error');
    }
    return answer;
  }

  async function abandon() {
    if (state.plan) await requestJson('POST', `/v1/plans/${state.plan.id}/abandon`, undefined, state.plan.version);
    state.plan = null;
    state.edits = [];
    paint();
    render();
  }

  async function loadCommunities() {
    if (state.communities.length) return;
    const answer = await requestJson('GET', '/v1/grids?level=community');
    state.communities = (answer.body?.features ?? []).map((f) => f.properties)
      .sort((a, b) => a.code.localeCompare(b.code));
    state.community ??= state.communities[0]?.code ?? null;
  }

  async function loadCommunity(code) {
    state.community = code;
    const answer = await requestJson('GET', `/v1/grids?level=grid&parent=${encodeURIComponent(code)}`);
    state.grids = (answer.body?.features ?? []).filter((f) => !f.properties.exclusive);
    state.selected.clear();
    paint();
    render();
    loadHistory();
    if (state.grids.length) {
      map.fitBounds(bboxOf({coordinates: state.grids.map((f) => f.geometry.coordinates)}),
        {padding: {top: 70, bottom: 20, left: 350, right: 20}, duration: 0});
    }
  }

  /** Every instant at which one of the community's grids got a version, ascending. */
  async function loadHistory() {
    const answers = await Promise.all(state.grids.map((f) =>
      requestJson('GET', `/v1/grids/${encodeURIComponent(f.properties.code)}/history`)));
    const instants = new Set();
    for (const a of answers) {
      for (const v of a.body?.features ?? []) {
        if (v.properties.valid_from) instants.add(v.properties.valid_from);
      }
    }
    state.history = [...instants].sort((a, b) => Date.parse(a) - Date.parse(b));
    showAt(state.history.length);
  }

  /** Position `i` of the slider: an instant of `state.history`, or its length for now. */
  function showAt(i) {
    state.historyIndex = i;
    const past = i < state.history.length;
    const at = past ? state.history[i] : null;
    if (at !== state.tilesAt) {
      state.tilesAt = at;
      ctx.tilesAt?.(at);
    }
    setVisible(state.active && !past);
    renderHistory();
  }

  function renderHistory() {
    const box = $('plan-history');
    if (!box) return;
    const n = state.history.length;
    const i = state.historyIndex ?? n;
    const when = i < n ? new Date(state.history[i]).toLocaleString(ctx.lang() === 'en' ? 'en-GB' : 'zh-CN') : tr('now');
    box.innerHTML = `<label>${escapeHtml(tr('history'))}: <span id="plan-history-at">${escapeHtml(when)}</span>
      <input id="plan-history-slider" type="range" min="0" max="${n}" step="1" value="${i}"></label>`;
  }

  // --- the side box -------------------------------------------------------------------------------
  function describeEdit(e) {
    switch (e.op) {
      case 'split': return `${tr('split')} ${e.code.slice(-3)} → ${e.new_codes.map((c) => c.slice(-3)).join(' + ')}`;
      case 'merge': return `${tr('merge')} ${e.codes.map((c) => c.slice(-3)).join(' + ')} → ${e.into_code.slice(-3)}`;
      case 'rename': return `${tr('rename')} ${e.code.slice(-3)} → ${e.new_name}`;
      case 'reshape': return `${tr('reshape')} ${e.code.slice(-3)}`;
      case 'move_vertex': {
        const code = origin.get(e)?.code;
        const at = (p) => `(${p[0].toFixed(6)}, ${p[1].toFixed(6)})`;
        return `${tr('moveVertex')}${code ? ` ${code.slice(-3)}` : ''} ${at(e.from)} → ${at(e.to)}, ${
          Math.round(metres(e.from, e.to))} m`;
      }
      default: return e.op;
    }
  }

  function impactList(impact) {
    if (!impact) return '';
    const groups = [['addresses', 'addresses'], ['micro_grids', 'microGrids'], ['staff', 'staff'],
      ['reports', 'reports'], ['exclusive', 'exclusive']];
    return groups.map(([key, label]) => {
      const moves = impact[key] ?? [];
      const items = moves.slice(0, 50).map((m) => `<li>${escapeHtml(m.what)}: ${escapeHtml(m.from_grid?.slice(-3) ?? '—')} → ${
        escapeHtml(m.to_grid?.slice(-3) ?? '—')}</li>`).join('');
      const more = moves.length > 50 ? `<li class="muted">… ${moves.length - 50}</li>` : '';
      return `<details data-impact="${key}" ${moves.length ? '' : 'class="muted"'}><summary>${escapeHtml(tr(label))} <span class="count">${
        moves.length}</span></summary><ul>${items}${more}</ul></details>`;
    }).join('');
  }

  function render() {
    const box = $('plan-box');
    if (!box) return;
    $('plan-title').textContent = tr('title');
    $('plan-community').innerHTML = state.communities.map((c) => `<option value="${escapeHtml(c.code)}" ${
      c.code === state.community ? 'selected' : ''}>${escapeHtml(c.name)} ${escapeHtml(c.code)}</option>`).join('');
    // Grids now → after the draft, and the draft's problems, counted where the planner looks first.
    const after = gridsAfter().length;
    const counted = $('plan-grid-count');
    counted.textContent = `${tr('gridCount')}: ${state.grids.length}${state.plan ? ` → ${after}` : ''}`;
    counted.dataset.before = String(state.grids.length);
    counted.dataset.after = String(after);
    $('plan-grid-list').innerHTML = gridsAfter().map((f) => {
      const p = f.properties;
      return `<li><label><input type="checkbox" data-code="${escapeHtml(p.code)}" ${
        state.selected.has(p.code) ? 'checked' : ''}> ${escapeHtml(p.code.slice(-3))} ${escapeHtml(p.name)}</label></li>`;
    }).join('');
    for (const [id, key] of [['plan-split', 'split'], ['plan-merge', 'merge'], ['plan-reshape', 'reshape'], ['plan-undo', 'undo'],
      ['plan-apply-shape', 'applyShape'], ['plan-rename', 'rename'], ['plan-check', 'check'], ['plan-commit', 'commit'],
      ['plan-abandon', 'abandon']]) $(id).textContent = tr(key);
    $('plan-apply-shape').hidden = state.tool !== 'reshape';
    $('plan-topology-toggle').hidden = state.tool !== 'reshape';
    $('plan-topology-toggle').title = tr('topologyHint');
    $('plan-topology-text').textContent = tr('topology');
    $('plan-topology').checked = state.topology;
    const problems = state.plan?.problems?.features ?? [];
    // Only problems the plan makes block it; the server says the same with a 422.
    $('plan-commit').disabled = !state.plan || state.plan.status !== 'draft' || problems.length > 0;
    $('plan-commit').title = problems.length > 0 ? tr('blocked') : '';
    $('plan-undo').disabled = state.edits.length === 0;
    $('plan-edits').innerHTML = state.edits.map((e, i) => `<li>${escapeHtml(describeEdit(e))} <button type="button" data-remove="${
      i}" aria-label="remove">×</button></li>`).join('') || `<li class="muted">${escapeHtml(tr('none'))}</li>`;
    const problemCount = $('plan-problem-count');
    problemCount.hidden = !state.plan;
    problemCount.dataset.count = String(problems.length);
    problemCount.dataset.kind = problems.length ? 'error' : 'ok';
    problemCount.textContent = `${tr('problemCount')}: ${problems.length}`;
    $('plan-problems').innerHTML = problems.map((f) => `<li class="problem" data-kind="${escapeHtml(f.properties.kind)}">${
      escapeHtml(f.properties.message)}</li>`).join('');
    const existing = state.plan?.existing_problems?.features ?? [];
    const existingCount = $('plan-existing-count');
    existingCount.hidden = existing.length === 0;
    existingCount.dataset.count = String(existing.length);
    existingCount.textContent = `${tr('existingCount')}: ${existing.length}`;
    existingCount.title = tr('existingNote');
    $('plan-existing-note').hidden = existing.length === 0;
    $('plan-existing-note').textContent = tr('existingNote');
    $('plan-existing').innerHTML = existing.map((f) => `<li class="problem existing" data-kind="${escapeHtml(f.properties.kind)}">${
      escapeHtml(f.properties.message)}</li>`).join('');
    $('plan-impact').innerHTML = impactList(state.plan?.impact);
    const message = $('plan-message');
    message.textContent = state.message;
    message.dataset.kind = state.messageKind;
    renderHistory();
  }

  function bind() {
    $('plan-community').addEventListener('change', (e) => loadCommunity(e.target.value));
    $('plan-grid-list').addEventListener('change', (e) => {
      const code = e.target.dataset.code;
      if (!code) return;
      if (e.target.checked) state.selected.add(code);
      else state.selected.delete(code);
      paint();
    });
    $('plan-split').addEventListener('click', startSplit);
    $('plan-merge').addEventListener('click', merge);
    $('plan-undo').addEventListener('click', undo);
    $('plan-reshape').addEventListener('click', startReshape);
    $('plan-apply-shape').addEventListener('click', applyShape);
    $('plan-topology').addEventListener('change', (e) => {
      state.topology = e.target.checked;
    });
    $('plan-rename').addEventListener('click', rename);
    $('plan-check').addEventListener('click', save);
    $('plan-commit').addEventListener('click', commit);
    $('plan-abandon').addEventListener('click', abandon);
    $('plan-history').addEventListener('input', (e) => {
      if (e.target.id === 'plan-history-slider') showAt(Number(e.target.value));
    });
    $('plan-edits').addEventListener('click', (e) => {
      const i = e.target.dataset.remove;
      if (i === undefined) return;
      setEdits(state.edits.filter((_, k) => k !== Number(i)));
    });
  }
  bind();

  return {
    state,
    render,
    /** Moves the history slider to position `i` (see `state.history`). */
    showAt,
    loadHistory,
    reshapeTo,
    undo,
    /** Draws a line through terra-draw's API, as a finished drawing would, and splits the grid it crosses. */
    async drawSplitLine(coordinates) {
      startSplit();
      draw.addFeatures([{type: 'Feature', geometry: {type: 'LineString', coordinates}, properties: {mode: 'linestring'}}]);
      return useSplitLine(coordinates);
    },
    select(codes) {
      state.selected = new Set(codes);
      paint();
      render();
    },
    loadCommunity,
    merge,
    commit,
    save,
    enter() {
      state.active = true;
      const show = async () => {
        addLayers();
        setVisible(true);
        await loadCommunities();
        if (state.community) await loadCommunity(state.community);
        render();
      };
      render();
      if (map.isStyleLoaded()) return show();
      return new Promise((resolve) => map.once('load', () => resolve(show())));
    },
    leave() {
      state.active = false;
      setVisible(false);
      if (state.tilesAt) {
        state.tilesAt = null;
        ctx.tilesAt?.(null);
      }
      if (draw) {
        clearDraw();
        draw.stop();
        draw = null;
      }
    },
  };
}
