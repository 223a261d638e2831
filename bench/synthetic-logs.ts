/**
 * Synthetic tool outputs at real sizes, in the exact layouts the tools write (see
 * test/fixtures/parsers-ort-profile-node130.txt and parsers-trtexec-times.txt): used by
 * `npm run bench:parsers` and by the parsers' scaling test.
 */

/** An ONNX Runtime profile file with `events` trace events (one per line, as ORT writes it). */
export function syntheticOrtProfile(events: number): string {
  const ops = [
    ['proj', 'MatMul'],
    ['act', 'Relu'],
    ['residual', 'Add'],
  ] as const;
  const lines: string[] = [];
  let ts = 1000;
  for (let i = 0; i < events; i++) {
    const k = i % 4;
    if (k === 3) {
      lines.push(`{"cat" : "Session","pid" :11706,"tid" :11706,"dur" :${40 + (i % 7)},"ts" :${ts},"ph" : "X","name" :"model_run","args" : {}}`);
    } else {
      const [node, op] = ops[k]!;
      lines.push(
        `{"cat" : "Node","pid" :11706,"tid" :11706,"dur" :${3 + (i % 5)},"ts" :${ts},"ph" : "X","name" :"${node}_kernel_time","args" : {"op_name" : "${op}","provider" : "CPUExecutionProvider","node_index" : "${k}","activation_size" : "16","parameter_size" : "0","output_size" : "16","output_type_shape" : [{"float":[1,4]}],"input_type_shape" : [{"float":[1,4]}],"thread_scheduling_stats" : ""}}`,
      );
    }
    ts += 10;
  }
  return `[\n${lines.join(',\n')}\n]\n`;
}

/** A `trtexec --exportTimes` file with `records` per-inference records. */
export function syntheticTrtexecTimes(records: number): string {
  const lines: string[] = [];
  let t = 4.19666;
  for (let i = 0; i < records; i++) {
    const compute = 0.47 + (i % 13) * 0.001;
    const r = (x: number) => Number(x.toFixed(5));
    lines.push(
      `{ "startEnqMs" : ${r(t)}, "endEnqMs" : ${r(t + 0.09)}, "startH2dMs" : ${r(t)}, "endH2dMs" : ${r(t)}, "startComputeMs" : ${r(t)}, "endComputeMs" : ${r(t + compute)}, "startD2hMs" : ${r(t + compute)}, "endD2hMs" : ${r(t + compute)}, "h2dMs" : 0, "computeMs" : ${compute}, "d2hMs" : 0, "latencyMs" : ${compute} }`,
    );
    t += compute;
  }
  return `[\n  ${lines.join('\n, ')}\n]\n`;
}
