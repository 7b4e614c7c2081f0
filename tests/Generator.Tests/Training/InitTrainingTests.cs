using System;
using System.Linq;
using ModelDsl.Cuda;
using ModelDsl.CudaParity;
using ModelDsl.Runtime;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// init statements through the real generator: the issue-15 case (an untied GPT head that starts above the uniform
/// loss), what the statements change and leave alone, and the GPU model starting from the CPU model's values.
/// </summary>
public sealed class InitTrainingTests : IClassFixture<CudaParityTests.Emulator>
{
    private readonly CudaParityTests.Emulator _emulator;

    public InitTrainingTests(CudaParityTests.Emulator emulator) => _emulator = emulator;

    private const int Vocab = 64;

    private static string Gpt(string inits) => $@"config {{
    vocab = {Vocab}
    context = 16
    d = 64
}}
block Block(x, d, heads) {{
    a = x -> layer_norm -> attention(heads, causal=true)
    r = x + a
    m = r -> layer_norm -> dense(4*d) -> gelu -> dense(d)
    return r + m
}}
model Gpt {{
    input idx: i32[B, T]
    label targets: i32[B, T]
    tok = embedding(idx, vocab, d)
    h = tok -> positional(context) -> repeat 2 Block(d, 4) -> layer_norm
    logits = h -> dense(vocab)
    output logits
    loss cross_entropy(logits, targets)
    optimizer adamw(lr=3e-4)
{inits}}}
";

    private const string Gpt2Scheme = "    init * normal(0, 0.02)\n    init *.bias zeros\n    init h.1.*.0.weight ones\n    init h.2.weight ones\n";

    private static (IntTensor X, IntTensor Y) Batch(int b, int t, int seed)
    {
        var random = new Random(seed);
        int[] Draw() => Enumerable.Range(0, b * t).Select(_ => random.Next(Vocab)).ToArray();
        return (new IntTensor(Draw(), b, t), new IntTensor(Draw(), b, t));
    }

    private static float InitialLoss(GeneratedModel compiled, ulong seed)
    {
        var (x, y) = Batch(16, 16, 3);
        var model = compiled.NewInstance(seed);
        return (float)compiled.Type.GetMethod("Evaluate")!.Invoke(model, [x, y])!;
    }

    [Fact]
    public void An_untied_gpt_head_drawn_from_normal_002_starts_at_the_uniform_loss()
    {
        double uniform = Math.Log(Vocab);
        var byDefault = GeneratedModel.Compile(Gpt(""), "Gpt");
        var declared = GeneratedModel.Compile(Gpt(Gpt2Scheme), "Gpt");
        float before = InitialLoss(byDefault, 1), after = InitialLoss(declared, 1);
        // The default head (Kaiming-uniform for ReLU: logit variance about 2 on unit-variance features) starts near
        // ln V + 1; N(0, 0.02²) gives logit variance 64·0.0004 ≈ 0.026, i.e. ln V + 0.013.
        Assert.True(before > uniform + 0.5, $"default head: loss {before}, ln V = {uniform}");
        Assert.InRange(after, uniform - 0.05, uniform + 0.05);

        // Generated Initialize names each statement's line; parameters it matches draw from it, the rest do not exist here.
        Assert.Contains("global::ModelDsl.Runtime.Init.Normal(LogitsWeight.Value, mean: 0.0f, std: 0.02f, seed: unchecked(Seed * 0x9E3779B97F4A7C15UL + ", declared.Source);
        Assert.Contains("// normal(0, 0.02) (init at test.model:21)", declared.Source);
        Assert.Contains("global::ModelDsl.Runtime.Init.Constant(LogitsBias.Value, 0.0f); // zeros (init at test.model:22)", declared.Source);
    }

    [Fact]
    public void Statements_set_exactly_what_they_match_and_keep_each_parameters_stream()
    {
        var byDefault = GeneratedModel.Compile(Gpt(""), "Gpt");
        var declared = GeneratedModel.Compile(Gpt("    init logits.weight normal(0, 0.02)\n    init h.1.0.m.1.bias constant(0.5)\n"), "Gpt");
        var a = byDefault.NewInstance(9);
        var b = declared.NewInstance(9);
        var pa = (System.Collections.Generic.IReadOnlyList<Parameter>)byDefault.Type.GetProperty("Parameters")!.GetValue(a)!;
        var pb = (System.Collections.Generic.IReadOnlyList<Parameter>)declared.Type.GetProperty("Parameters")!.GetValue(b)!;
        Assert.Equal(pa.Select(p => p.Name), pb.Select(p => p.Name));
        for (int k = 0; k < pa.Count; k++)
        {
            if (pa[k].Name == "logits.weight")
            {
                double std = Math.Sqrt(pb[k].Value.Average(v => (double)v * v));
                Assert.InRange(std, 0.019, 0.021);
            }
            else if (pa[k].Name == "h.1.0.m.1.bias") Assert.All(pb[k].Value, v => Assert.Equal(0.5f, v));
            else Assert.Equal(pa[k].Value, pb[k].Value); // untouched parameters: bit-identical to the default model's
        }
    }

    [Fact]
    public void The_gpu_model_starts_from_the_declared_values()
    {
        var compiled = GeneratedModel.Compile(Gpt(Gpt2Scheme + "    init h.1.*.m.1.weight kaiming_uniform(nonlinearity=\"relu\")\n    init h.1.*in_proj_weight xavier_normal\n"), "Gpt", seed: 4);
        var cpu = compiled.NewInstance(4);
        var gpuModel = compiled.NewInstance(4);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", _emulator.Context);
        var hostCopy = (System.Collections.Generic.IReadOnlyList<Parameter>)compiled.Type.GetProperty("Parameters")!.GetValue(gpuModel)!;
        foreach (var p in hostCopy) Array.Fill(p.Value, float.NaN); // so only the device's values can pass
        ParityCheck.Invoke(session, "CopyToHost");
        var reference = (System.Collections.Generic.IReadOnlyList<Parameter>)compiled.Type.GetProperty("Parameters")!.GetValue(cpu)!;
        for (int k = 0; k < reference.Count; k++) Assert.Equal(reference[k].Value, hostCopy[k].Value);
        // And the two train alike from there.
        var report = new ParityReport();
        ParityCheck.CompareTraining(cpu, gpuModel, session, step => { var (x, y) = Batch(3, 5, 40 + step); return [x, y]; }, 2, report);
        Assert.True(report.Passed, string.Join(Environment.NewLine, report.Failures));
    }
}
