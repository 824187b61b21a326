/**
 * A synthetic YOLOv5-dialect model of any length (for the graph panel's large-graph test and benchmark): repeated
 * blocks of Conv → C3 → Conv → Concat with a skip from three layers back, resolved by the real core. Every layer
 * resolves, so every node has shapes to draw (bench/synthetic.ts's model stops at its first Concat: 64×64 with 16×16).
 */
export function syntheticYaml(layers: number): string {
  const rows: string[] = [];
  const block = ['[-1, 1, Conv, [32, 3, 1]]', '[-1, 1, C3, [32]]', '[-1, 1, Conv, [16, 1, 1]]', '[[-1, -3], 1, Concat, [1]]'];
  rows.push('[-1, 1, Conv, [16, 3, 2]]');
  while (rows.length < layers - 1) rows.push(block[(rows.length - 1) % block.length]!);
  const backbone = rows.slice(0, Math.ceil(rows.length / 2));
  const head = rows.slice(backbone.length);
  head.push('[-1, 1, Conv, [16, 1, 1]]');
  return [
    `# ${layers} layers, generated for the graph panel benchmark`,
    'nc: 80',
    'depth_multiple: 1.0',
    'width_multiple: 1.0',
    'anchors: 3',
    'backbone:',
    ...backbone.map((r) => `  - ${r}`),
    'head:',
    ...head.map((r) => `  - ${r}`),
    '',
  ].join('\n');
}
