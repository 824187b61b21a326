/**
 * Synthetic model YAMLs of any size, for benchmarks and stress tests: a YOLOv5-dialect stem down to stride 16,
 * then a long chain of stages at that size (Conv, a Concat with the layer before that Conv, C3), ending in a
 * Detect over three late layers. Every layer resolves (a test checks it): a benchmark of a model that stops at
 * an error would measure nothing. `flow` writes the layer lists as flow sequences (`[[...],\n [...]]`), `block`
 * as block sequences (`- [...]`).
 */
export function syntheticYaml(layers: number, style: 'block' | 'flow' = 'block'): string {
  const header = [
    '# synthetic model for benchmarks',
    'nc: 80',
    'depth_multiple: 0.33',
    'width_multiple: 0.25',
    'anchors:',
    '  - [10,13, 16,30, 33,23]',
    '  - [30,61, 62,45, 59,119]',
    '  - [116,90, 156,198, 373,326]',
  ];
  const stem = ['[-1, 1, Conv, [64, 6, 2, 2]]', '[-1, 1, Conv, [128, 3, 2]]', '[-1, 1, Conv, [256, 3, 2]]', '[-1, 1, Conv, [256, 3, 2]]'];
  const chain: string[] = [];
  let i = stem.length;
  while (i < layers - 1) {
    const k = (i - stem.length) % 3;
    chain.push(k === 0 ? '[-1, 1, Conv, [256, 3, 1]]' : k === 1 ? `[[-1, ${i - 2}], 1, Concat, [1]]` : '[-1, 3, C3, [256, False]]');
    i++;
  }
  const detect = `[[${i - 1}, ${i - 2}, ${i - 3}], 1, Detect, [nc, anchors]]`;
  const section = (name: string, items: string[], first: number): string[] => {
    if (style === 'block') return [`${name}:`, ...items.map((it, k) => `  - ${it}  # ${first + k}`)];
    return [`${name}:`, ...items.map((it, k) => `${k === 0 ? '  [' : '   '}${it},  # ${first + k}`), '  ]'];
  };
  return [...header, ...section('backbone', stem, 0), ...section('head', [...chain, detect], stem.length)].join('\n') + '\n';
}
