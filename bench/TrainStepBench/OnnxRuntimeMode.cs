using Microsoft.ML.OnnxRuntime;
using ModelDsl.Runtime;

namespace TrainStepBench;

/// <summary>
/// The ONNX Runtime third of bench/compare.sh (<c>TrainStepBench --onnxruntime N</c>, a process of its own so that its
/// thread pool and ModelDsl's workers never spin against each other): the benchmark MLP exported with
/// <c>ExportOnnx</c>, run by <see cref="InferenceSession"/> on N intra-op threads, at batch 128 and 1. Prints
/// <c>BENCH onnxruntime</c> lines with the names CompareMode uses for the same calls (<see cref="Timing"/>).
/// </summary>
/// <remarks>
/// Session: <c>IntraOpNumThreads = N</c> (the calling thread included, as in CpuWorkers), <c>InterOpNumThreads = 1</c>,
/// sequential execution, every graph optimization (<c>ORT_ENABLE_ALL</c>: the constant weights are pre-packed for
/// MLAS's GEMM at load), spinning left at its default (on). Calls: input and output are <see cref="OrtValue"/>s over
/// arrays allocated once, bound once with <see cref="OrtIoBinding"/>, and each call is
/// <c>RunWithBinding</c>: no per-call tensors, names or results. <c>mlp.forward*</c> is that call (logits into the
/// bound array); <c>mlp.predict*</c> adds the row argmax ModelDsl's <c>Predict</c> does (<c>Metrics.ArgMax</c>, the
/// same code), because the exported graph ends at the logits.
/// </remarks>
internal static class OnnxRuntimeMode
{
    public static void Run(int threads)
    {
        string folder = Path.Combine(Path.GetTempPath(), "modeldsl-bench-" + Environment.ProcessId);
        Directory.CreateDirectory(folder);
        try
        {
            string path = Path.Combine(folder, "mlp.onnx");
            var model = new BenchMlp(seed: 1);
            model.ExportOnnx(path);

            using var options = new SessionOptions
            {
                IntraOpNumThreads = threads,
                InterOpNumThreads = 1,
                ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            };
            using var session = new InferenceSession(path, options);
            using var runOptions = new RunOptions();
            Timing.Info("onnxruntime", $"threads={threads} (intra-op; inter-op 1) onnxruntime={OrtEnv.Instance().GetVersionString()} optimization=ORT_ENABLE_ALL io=OrtIoBinding");

            foreach (int batch in new[] { 128, 1 })
            {
                string suffix = batch == 1 ? "-b1" : "";
                var x = Timing.MlpInput(batch);
                var logits = new float[batch * 10];
                var predicted = new int[batch];
                using var input = OrtValue.CreateTensorValueFromMemory(x.Data, [batch, 784]);
                using var output = OrtValue.CreateTensorValueFromMemory(logits, [batch, 10]);
                using var binding = session.CreateIoBinding();
                binding.BindInput("x", input);
                binding.BindOutput("logits", output);

                // Same weights and input as ModelDsl's Forward: report the largest difference once, and check both against
                // a float64 reference so a wrong fast kernel cannot win.
                session.RunWithBinding(runOptions, binding);
                var expected = model.Forward(x).Span;
                double worst = 0;
                for (int i = 0; i < logits.Length; i++) worst = Math.Max(worst, Math.Abs(logits[i] - expected[i]));
                var reference = MlpReference.Logits(model.Parameters, x.Data, batch);
                double ortError = MlpReference.RelativeError(logits, reference), dslError = MlpReference.RelativeError(expected, reference);
                Timing.Info("onnxruntime", $"batch {batch}: max |logits - float64 reference| / max |reference|: ORT {ortError:G3}, ModelDsl {dslError:G3}");
                if (!(ortError <= 1e-4) || !(dslError <= 1e-4))
                    throw new InvalidOperationException($"mlp batch {batch}: logits differ from the float64 reference (ORT {ortError:G3}, ModelDsl {dslError:G3}); not reporting speed.");
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < 100; i++) session.RunWithBinding(runOptions, binding);
                long perCall = (GC.GetAllocatedBytesForCurrentThread() - before) / 100;
                Timing.Info("onnxruntime", $"batch {batch}: max |ORT - ModelDsl Forward| = {worst:G3}; managed bytes allocated per RunWithBinding = {perCall}");

                Timing.Emit("onnxruntime", "mlp.forward" + suffix, "us", Timing.Time(() => session.RunWithBinding(runOptions, binding)));
                Timing.Emit("onnxruntime", "mlp.predict" + suffix, "us", Timing.Time(() =>
                {
                    session.RunWithBinding(runOptions, binding);
                    Metrics.ArgMax(logits, batch, 10, predicted);
                }));
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
