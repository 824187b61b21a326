/** Synthetic model YAMLs of any size, for benchmarks and stress tests: a YOLOv5n-like stem then a long chain of
 * stages (Conv + C3 + a Concat reaching back), ending in a Detect over three late layers. */
export function syntheticYaml(layers: number): string {
  const lines = [
    '# synthetic model for benchmarks',
    'nc: 80',
    'depth_multiple: 0.33',
    'width_multiple: 0.25',
    'anchors:',
    '  - [10,13, 16,30, 33,23]',
    '  - [30,61, 62,45, 59,119]',
    '  - [116,90, 156,198, 373,326]',
    'backbone:',
    '  - [-1, 1, Conv, [64, 6, 2, 2]]  # 0',
    '  - [-1, 1, Conv, [128, 3, 2]]  # 1',
    '  - [-1, 1, Conv, [256, 3, 2]]  # 2',
    '  - [-1, 1, Conv, [256, 3, 2]]  # 3',
    'head:',
  ];
  let i = 4;
  while (i < layers - 1) {
    const k = i % 3;
    if (k === 0) lines.push(`  - [-1, 1, Conv, [256, 3, 1]]  # ${i}`);
    else if (k === 1) lines.push(`  - [[-1, ${i - 3}], 1, Concat, [1]]  # ${i}`);
    else lines.push(`  - [-1, 3, C3, [256, False]]  # ${i}`);
    i++;
  }
  lines.push(`  - [[${i - 1}, ${i - 2}, ${i - 3}], 1, Detect, [nc, anchors]]  # ${i}`);
  return lines.join('\n') + '\n';
}
