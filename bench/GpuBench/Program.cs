// The ModelDsl half of bench/gpu_compare.sh: the benchmark models' generated TrainStep (and its parts) on a CUDA
// device, in the BENCH line format of bench/TrainStepBench --compare and bench/pytorch/compare.py.
//   GpuBench [--device cuda|emulated] [--models mlp,small,cnn,gpt,gpt2-124m,gpt2-check] [--gpt2-batch N] [--gpt2-warmup N] [--gpt2-steps N]
// Rows per model m (the PyTorch half prints the same names):
//   m           TrainStep from host tensors: copies the batch in, runs forward, loss, backward and the optimizer, and
//               returns the loss (one device-to-host read per step, as a training loop that logs its loss)
//   m.fwd+bwd   ComputeGradients (the same, without the optimizer)
//   m.opt       ApplyGradients alone (queued; the block drains the queue)
//   m.forward   Forward: batch in, forward with dropout off, output back to the host
//   m.nographs  TrainStep with UseGraphs off: every kernel and GEMM launched from the host each step (m, m.fwd+bwd
//               replay one CUDA graph of the step per binding; docs/cuda.md, "CUDA graphs")
// and device rows: sgemm-1024 (cuBLAS FP32, GFLOP/s), launch (one empty kernel), sync (an idle round trip).
// The gpt2 rows run only when named: gpt2-124m (bench/models/gpt2_small.model) and gpt2-check (its check-sized twin,
// bench/models/gpt2_check.model), one GPT2 line per precision (Gpt2Rows.cs; defaults batch 8, 3 warm-up and 10 timed steps).
using System.Globalization;
using GpuBench;
using ModelDsl.Cuda;
using ModelDsl.Runtime;
using TrainStepBench;

string device = "cuda";
var only = new HashSet<string>();
int gpt2Batch = 8, gpt2Warmup = 3, gpt2Steps = 10;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--device" when i + 1 < args.Length: device = args[++i]; break;
        case "--models" when i + 1 < args.Length: only.UnionWith(args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries)); break;
        case "--gpt2-batch" when i + 1 < args.Length && int.TryParse(args[i + 1], out int b) && b > 0: gpt2Batch = b; i++; break;
        case "--gpt2-warmup" when i + 1 < args.Length && int.TryParse(args[i + 1], out int w) && w >= 0: gpt2Warmup = w; i++; break;
        case "--gpt2-steps" when i + 1 < args.Length && int.TryParse(args[i + 1], out int n) && n > 0: gpt2Steps = n; i++; break;
        default:
            Console.Error.WriteLine("usage: GpuBench [--device cuda|emulated] [--models mlp,small,cnn,gpt,gpt2-124m,gpt2-check] [--gpt2-batch N] [--gpt2-warmup N] [--gpt2-steps N]");
            return 2;
    }
}

GpuContext context;
try
{
    context = device == "emulated" ? GpuContext.OpenEmulated() : GpuContext.OpenCuda();
}
catch (CudaUnavailableException e)
{
    Console.Error.WriteLine("GpuBench: " + e.Message);
    return 3;
}

using (context)
{
    Timing.Info("modeldsl", $"device={context.DeviceName} runtime={System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}");
    foreach (var model in BenchModels.All)
    {
        if (only.Count > 0 && !only.Contains(model.Name)) continue;
        model.Run(context);
    }
    foreach (string row in Gpt2Rows.Names)
    {
        if (only.Contains(row)) Gpt2Rows.Run(context, row, gpt2Batch, gpt2Warmup, gpt2Steps);
    }
    if (only.Count == 0) DeviceRows.Run(context);
}
return 0;
