using System;
using System.IO;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ModelDsl.CudaParity;
using Tensor = ModelDsl.Runtime.Tensor;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// layer_norm(eps=1e-12) (all-MiniLM-L6-v2's, BERT's) reaches every back end unrounded: the CPU call, the GPU call,
/// the ONNX attribute, and the numbers. Rows whose variance is ~1e-10 tell the eps values apart: eps 1e-12 normalises
/// them to a variance of var/(var + 1e-12) ≈ 0.97, the default 1e-5 would shrink them about 300-fold.
/// </summary>
public sealed class LayerNormEpsilonTests : IClassFixture<CudaParityTests.Emulator>, IDisposable
{
    private const string Text = "model Tiny {\n    input x: f32[B, 16]\n    label y: f32[B, 16]\n    h = x -> layer_norm(eps=1e-12)\n    output h\n    loss mse(h, y)\n    optimizer sgd(lr=0.1)\n}\n";

    private readonly CudaParityTests.Emulator _emulator;
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "modeldsl-layernorm-eps-" + Guid.NewGuid().ToString("N"));

    public LayerNormEpsilonTests(CudaParityTests.Emulator emulator)
    {
        _emulator = emulator;
        Directory.CreateDirectory(_folder);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>Rows of 16 values uniform in ±1e-5: variance ~3e-11.</summary>
    private static Tensor TinyRows(int rows, int seed)
    {
        var random = new Random(seed);
        return new Tensor(Enumerable.Range(0, rows * 16).Select(_ => (float)(1e-5 * (random.NextDouble() * 2 - 1))).ToArray(), rows, 16);
    }

    /// <summary>(x − mean)/√(var + eps) per row in double (weight 1, bias 0: the initial parameters).</summary>
    private static double[] Reference(Tensor x, double eps)
    {
        int rows = x.Data.Length / 16;
        var y = new double[rows * 16];
        for (int r = 0; r < rows; r++)
        {
            var row = x.Data.Skip(r * 16).Take(16).Select(v => (double)v).ToArray();
            double mean = row.Average(), variance = row.Select(v => (v - mean) * (v - mean)).Average();
            for (int i = 0; i < 16; i++) y[r * 16 + i] = (row[i] - mean) / Math.Sqrt(variance + eps);
        }
        return y;
    }

    [Fact]
    public void Eps_1e_12_reaches_the_cpu_the_emulated_gpu_and_onnx()
    {
        var compiled = GeneratedModel.Compile(Text, "Tiny", seed: 3);
        Assert.Contains("1e-12f);", compiled.Source);    // LayerNorm.Forward's last argument, CPU
        Assert.Contains("1e-12f);", compiled.GpuSource); // and GPU

        var x = TinyRows(5, 7);
        var cpu = ((Tensor)compiled.Call("Forward", x)).Span.ToArray();
        double[] exact = Reference(x, 1e-12), wrong = Reference(x, 1e-5);
        double worst = cpu.Select((v, i) => Math.Abs(v - exact[i])).Max();
        Assert.True(worst < 1e-3, $"CPU layer_norm(eps=1e-12) differs from the double reference by {worst:G3}");
        Assert.True(cpu.Select((v, i) => Math.Abs(v - wrong[i])).Max() > 0.5, "the inputs do not tell eps 1e-12 from 1e-5");

        // The emulated GPU: every buffer of a step (the output, mean and rstd) against the CPU's.
        var cpuModel = compiled.NewInstance(3);
        var gpuModel = compiled.NewInstance(3);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", _emulator.Context);
        var report = new ParityReport();
        ParityCheck.CompareKernels(cpuModel, gpuModel, session, [TinyRows(7, 8), TinyRows(7, 9)], report);
        Assert.True(report.Passed, string.Join(Environment.NewLine, report.Failures));
        Assert.Contains(report.Lines, line => line.Contains("rstd", StringComparison.Ordinal));

        // ONNX: LayerNormalization's epsilon attribute, and ONNX Runtime's numbers.
        string path = Path.Combine(_folder, "tiny.onnx");
        compiled.Call("ExportOnnx", path);
        using var onnx = new InferenceSession(path);
        using var results = onnx.Run([NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x.Data.Take(5 * 16).ToArray(), [5, 16]))]);
        var fromOnnx = results.Single().AsTensor<float>().ToArray();
        double onnxWorst = fromOnnx.Select((v, i) => Math.Abs(v - exact[i])).Max();
        Assert.True(onnxWorst < 1e-3, $"ONNX Runtime layer_norm differs from the double reference by {onnxWorst:G3} (epsilon not 1e-12?)");
    }
}
