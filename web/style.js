// The map style: gridmap's own vector tiles are the map (no external glyphs, sprites or basemap).
// Labels carry no `glyphs` URL: MapLibre then draws every glyph locally with the system fonts
// (TinySDF), so Chinese names, digits and Latin letters all render with no network.

/** Colours of ordinary grid kinds (fills). */
export const KIND_COLORS = {
  residential: '#7cc48a',
  commercial: '#f2b45c',
  road: '#b8b8b8',
  village: '#d8c37e',
};
/** Colour of exclusive grids (专属网格): outline, stripes, labels. */
export const EXCLUSIVE_COLOR = '#b5179e';
/** Ground no grid takes (the `excluded` tile layer): water blue, other kinds grey and hatched. */
export const EXCLUDED_COLORS = {water: '#a9d3f0', waterLine: '#5b9bd5', other: '#9a9a9a'};
/** Outline colour and width per level. */
export const LEVEL_LINES = {
  districts: {color: '#2b2b2b', width: 3.2},
  streets: {color: '#5b3f8c', width: 2.2},
  communities: {color: '#1d6fa5', width: 1.6},
  grids: {color: '#3d6b4a', width: 0.9},
  micro_grids: {color: '#8a8a8a', width: 0.6},
};
const STREET_PALETTE = ['#e8d5f2', '#d5e6f7', '#f7e2cf', '#d9f0dc', '#f5d6dc', '#e9ecc9'];

/** Polygon source-layers, coarsest first; each gets fill, line, hover and selected layers. */
export const POLYGON_LAYERS = ['districts', 'streets', 'communities', 'grids', 'micro_grids', 'exclusive'];
/** Fill layers the pointer interacts with, topmost last. */
export const INTERACTIVE_FILLS = ['streets-fill', 'communities-fill', 'grids-fill', 'micro_grids-fill',
  'exclusive-fill'];
/** Zoom range per source-layer (micro-grids come in tiles from zoom 15). */
export const LAYER_ZOOMS = {
  districts: [0, 24],
  streets: [8, 24],
  communities: [11, 24],
  grids: [13, 24],
  micro_grids: [15, 24],
  exclusive: [13, 24],
};

const FONT = ['Noto Sans CJK SC', 'Microsoft YaHei', 'PingFang SC', 'sans-serif'];
const NOTHING = ['==', ['get', 'code'], '\u0000'];

function vector(layer) {
  return {source: 'gridmap', 'source-layer': layer};
}

function fillLayer(layer) {
  const [minzoom, maxzoom] = LAYER_ZOOMS[layer];
  const base = {id: `${layer}-fill`, type: 'fill', ...vector(layer), minzoom, maxzoom};
  switch (layer) {
    case 'districts':
      return {...base, paint: {'fill-color': '#f4f1ea', 'fill-opacity': 0.6}};
    case 'streets':
      return {
        ...base,
        paint: {
          'fill-color': ['match', ['%', ['to-number', ['get', 'code'], 0], STREET_PALETTE.length],
            0, STREET_PALETTE[0], 1, STREET_PALETTE[1], 2, STREET_PALETTE[2], 3, STREET_PALETTE[3],
            4, STREET_PALETTE[4], STREET_PALETTE[5]],
          'fill-opacity': ['interpolate', ['linear'], ['zoom'], 10, 0.75, 13, 0.25],
        },
      };
    case 'communities':
      return {...base, paint: {'fill-color': '#ffffff', 'fill-opacity': 0.01}};
    case 'grids':
      return {
        ...base,
        paint: {
          'fill-color': ['match', ['get', 'kind'],
            'residential', KIND_COLORS.residential, 'commercial', KIND_COLORS.commercial,
            'road', KIND_COLORS.road, 'village', KIND_COLORS.village, '#cccccc'],
          'fill-opacity': ['interpolate', ['linear'], ['zoom'], 13, 0.35, 14, 0.45, 17, 0.3],
        },
      };
    case 'micro_grids':
      return {...base, paint: {'fill-color': '#ffffff', 'fill-opacity': 0.01}};
    default: // exclusive
      return {
        ...base,
        paint: {'fill-pattern': 'exclusive-stripes', 'fill-opacity': 0.85},
      };
  }
}

function lineLayer(layer) {
  const [minzoom, maxzoom] = LAYER_ZOOMS[layer];
  if (layer === 'exclusive') {
    return {
      id: 'exclusive-line', type: 'line', ...vector(layer), minzoom, maxzoom,
      layout: {'line-join': 'round'},
      paint: {
        'line-color': EXCLUSIVE_COLOR,
        'line-width': ['interpolate', ['linear'], ['zoom'], 13, 1.2, 16, 2.6],
        'line-dasharray': [3, 1.5],
      },
    };
  }
  const {color, width} = LEVEL_LINES[layer];
  return {
    id: `${layer}-line`, type: 'line', ...vector(layer),
    minzoom, maxzoom,
    layout: {'line-join': 'round'},
    paint: {
      'line-color': color,
      'line-width': ['interpolate', ['linear'], ['zoom'], minzoom, width * 0.6, 16, width * 1.4],
      ...(layer === 'micro_grids' ? {'line-dasharray': [2, 2]} : {}),
    },
  };
}

function highlightLayer(layer, kind) {
  const [minzoom, maxzoom] = LAYER_ZOOMS[layer];
  const hover = kind === 'hover';
  return {
    id: `${layer}-${kind}`, type: 'line', ...vector(layer), minzoom, maxzoom,
    filter: NOTHING,
    layout: {'line-join': 'round'},
    paint: {
      'line-color': hover ? '#ff7a00' : '#e3262f',
      'line-width': hover ? 3 : 4.5,
      'line-opacity': hover ? 0.9 : 1,
    },
  };
}

function selectedFill(layer) {
  const [minzoom, maxzoom] = LAYER_ZOOMS[layer];
  return {
    id: `${layer}-selected-fill`, type: 'fill', ...vector(layer), minzoom, maxzoom,
    filter: NOTHING,
    paint: {'fill-color': '#e3262f', 'fill-opacity': 0.18},
  };
}

function roadLayers() {
  const width = (major, minor) => ['interpolate', ['exponential', 1.6], ['zoom'],
    11, ['match', ['get', 'class'], ['main', 'primary', 'trunk', 'motorway'], major * 0.4, 'secondary', major * 0.3, minor * 0.2],
    17, ['match', ['get', 'class'], ['main', 'primary', 'trunk', 'motorway'], major * 3, 'secondary', major * 2.4, minor * 1.6]];
  return [
    {
      id: 'roads-casing', type: 'line', ...vector('roads'), minzoom: 10,
      layout: {'line-join': 'round', 'line-cap': 'round'},
      paint: {'line-color': '#a49b8c', 'line-width': width(6, 5), 'line-gap-width': 0},
    },
    {
      id: 'roads-line', type: 'line', ...vector('roads'), minzoom: 10,
      layout: {'line-join': 'round', 'line-cap': 'round'},
      paint: {
        'line-color': ['match', ['get', 'class'], ['main', 'primary', 'trunk', 'motorway'], '#ffe9a8', '#ffffff'],
        'line-width': width(4.6, 3.8),
      },
    },
  ];
}

/** Excluded ground: under every outline, above the district and street tints (the river has no grid). */
function excludedLayers() {
  const water = ['==', ['get', 'kind'], 'water'];
  return [
    {
      id: 'excluded-water', type: 'fill', ...vector('excluded'), minzoom: 8, filter: water,
      paint: {'fill-color': EXCLUDED_COLORS.water, 'fill-opacity': 0.95},
    },
    {
      id: 'excluded-other', type: 'fill', ...vector('excluded'), minzoom: 8, filter: ['!', water],
      paint: {'fill-pattern': 'excluded-hatch', 'fill-opacity': 0.9},
    },
    {
      id: 'excluded-line', type: 'line', ...vector('excluded'), minzoom: 11,
      layout: {'line-join': 'round'},
      paint: {
        'line-color': ['case', water, EXCLUDED_COLORS.waterLine, EXCLUDED_COLORS.other],
        'line-width': ['interpolate', ['linear'], ['zoom'], 11, 0.5, 16, 1.2],
      },
    },
  ];
}

function labelLayer(id, level, minzoom, maxzoom, size, color, field) {
  return {
    id, type: 'symbol', ...vector('labels'), minzoom, maxzoom,
    filter: ['==', ['get', 'level'], level],
    layout: {
      'text-field': field,
      'text-font': FONT,
      'text-size': size,
      'text-max-width': 8,
      'text-padding': 4,
    },
    paint: {'text-color': color, 'text-halo-color': '#ffffff', 'text-halo-width': 1.6},
  };
}

/** Label layers by level, each in the zoom band where it is readable. */
export const LABEL_LAYERS = ['label-district', 'label-street', 'label-community', 'label-grid', 'label-micro',
  'label-road', 'label-excluded'];

function labelLayers() {
  const nameAndCode = ['format', ['get', 'name'], {}, '\n', {}, ['get', 'code'], {'font-scale': 0.8}];
  return [
    {
      id: 'label-road', type: 'symbol', ...vector('roads'), minzoom: 14,
      layout: {
        'symbol-placement': 'line', 'text-field': ['get', 'name'], 'text-font': FONT, 'text-size': 12,
        'text-rotation-alignment': 'map', 'symbol-spacing': 300,
      },
      paint: {'text-color': '#6b5d45', 'text-halo-color': '#ffffff', 'text-halo-width': 1.4},
    },
    {
      id: 'label-excluded', type: 'symbol', ...vector('excluded'), minzoom: 13,
      layout: {'text-field': ['get', 'name'], 'text-font': FONT, 'text-size': 13, 'text-padding': 20},
      paint: {
        'text-color': ['case', ['==', ['get', 'kind'], 'water'], '#2f6fa8', '#555555'],
        'text-halo-color': '#ffffff', 'text-halo-width': 1.2,
      },
    },
    labelLayer('label-district', 'district', 8, 11.5, 20, '#2b2b2b', ['get', 'name']),
    labelLayer('label-street', 'street', 11, 13.5, 16, '#5b3f8c', ['get', 'name']),
    labelLayer('label-community', 'community', 13, 15.5, 14, '#1d6fa5', ['get', 'name']),
    labelLayer('label-grid', 'grid', 15, 24, 12, '#24442e',
      ['step', ['zoom'], ['get', 'name'], 16, nameAndCode]),
    labelLayer('label-micro', 'micro_grid', 17, 24, 10, '#555555', ['get', 'name']),
  ];
}

/** The whole style; `basemapUrl` (an XYZ raster URL template) is optional. */
export function buildStyle({tilesUrl, basemapUrl}) {
  const sources = {gridmap: {type: 'vector', url: tilesUrl}};
  const layers = [{id: 'background', type: 'background', paint: {'background-color': '#efece4'}}];
  if (basemapUrl) {
    sources.basemap = {type: 'raster', tiles: [basemapUrl], tileSize: 256};
    layers.push({id: 'basemap', type: 'raster', source: 'basemap'});
  }
  for (const layer of POLYGON_LAYERS) layers.push(fillLayer(layer));
  layers.push(...excludedLayers());
  // Boundaries often run along roads: roads above the fine boundaries, below the coarse ones.
  for (const layer of ['communities', 'grids', 'micro_grids']) layers.push(lineLayer(layer));
  layers.push(...roadLayers());
  for (const layer of ['districts', 'streets', 'exclusive']) layers.push(lineLayer(layer));
  for (const layer of POLYGON_LAYERS) layers.push(selectedFill(layer));
  for (const layer of POLYGON_LAYERS) layers.push(highlightLayer(layer, 'hover'));
  for (const layer of POLYGON_LAYERS) layers.push(highlightLayer(layer, 'selected'));
  layers.push(...labelLayers());
  return {version: 8, sources, layers};
}

/** Style layers per switchable group (for the layer switcher). */
export function layerGroups(hasBasemap) {
  const groups = {};
  if (hasBasemap) groups.basemap = ['basemap'];
  for (const layer of POLYGON_LAYERS) groups[layer] = [`${layer}-fill`, `${layer}-line`];
  groups.excluded = ['excluded-water', 'excluded-other', 'excluded-line', 'label-excluded'];
  groups.roads = ['roads-casing', 'roads-line', 'label-road'];
  groups.labels = LABEL_LAYERS.filter((id) => id !== 'label-road' && id !== 'label-excluded');
  return groups;
}

/**
 * A diagonal stripe pattern, drawn on a canvas (no sprite to download): magenta for exclusive grids, or
 * grey (`rgb` '120, 120, 120') for excluded ground other than water.
 */
export function stripePattern(size = 12, rgb = '181, 23, 158') {
  const canvas = document.createElement('canvas');
  canvas.width = size;
  canvas.height = size;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = `rgba(${rgb}, 0.10)`;
  ctx.fillRect(0, 0, size, size);
  ctx.strokeStyle = `rgba(${rgb}, 0.55)`;
  ctx.lineWidth = 2;
  for (const offset of [-size, 0, size]) {
    ctx.beginPath();
    ctx.moveTo(offset, size);
    ctx.lineTo(offset + size, 0);
    ctx.stroke();
  }
  return ctx.getImageData(0, 0, size, size);
}
