using System;
using System.Linq;
using ModelDsl.CudaParity;
using ModelDsl.Runtime;
using Xunit.Abstractions;

namespace ModelDsl.Cuda.Tests.Generated;

/// <summary>
/// BF16 mixed precision end to end on the emulator (docs/cuda.md "Precision"): tests/CudaParity/models/parity_gpt_bf16.model
/// (a 2-block GPT, d = 32) declares <c>precision bf16</c>; its session's matrix products take BF16 operands. Held to the
/// FP32 CPU reference with the tolerances docs/cuda.md derives, over one step and over 200 training steps.
/// </summary>
public sealed class Bf16TrainingTests(ITestOutputHelper output)
{
    private const int Batch = 4, Steps = 8, Vocab = 16;

    // A task the model learns within 200 steps: target[t] = (5·idx[t] + 3) mod 16, and for every other position
    // the previous token (attention must find it).
    private static (IntTensor Idx, IntTensor Targets) Task(int seed)
    {
        var random = new Random(seed);
        int[] idx = Enumerable.Range(0, Batch * Steps).Select(_ => random.Next(Vocab)).ToArray();
        int[] targets = idx.Select((v, i) => i % 2 == 0 ? (5 * v + 3) % Vocab : idx[i - 1]).ToArray();
        return (new IntTensor(idx, Batch, Steps), new IntTensor(targets, Batch, Steps));
    }

    [Fact]
    public void The_declared_precision_is_the_sessions_and_tf32_and_fp32_can_be_asked_for()
    {
        using var context = GpuContext.OpenEmulated();
        var model = new ParityGptBf16(7UL);
        Assert.Equal(GpuPrecision.Bf16, ParityGptBf16.Gpu.DeclaredPrecision);
        using (var session = model.ToGpu(context)) Assert.Equal(GpuPrecision.Bf16, session.Precision);
        using (var session = model.ToGpu(context, GpuPrecision.Tf32)) Assert.Equal(GpuPrecision.Tf32, session.Precision);
        // A model without `precision bf16` has no BF16 kernels: asking for them is refused, naming the statement.
        var error = Assert.Throws<ArgumentException>(() => new CharGpt(7UL).ToGpu(context, GpuPrecision.Bf16));
        Assert.Contains("CharGpt: Bf16 needs 'precision bf16' in char_gpt.model", error.Message);
        Assert.Equal(GpuPrecision.Fp32, CharGpt.Gpu.DeclaredPrecision);
    }

    [Fact]
    public void One_bf16_step_matches_the_fp32_cpu_within_the_bf16_tolerance_and_tf32_is_closer()
    {
        using var context = GpuContext.OpenEmulated();
        var (idx, targets) = Task(1);
        float cpu = new ParityGptBf16(7UL).TrainStep(idx, targets);
        float Loss(GpuPrecision precision)
        {
            var model = new ParityGptBf16(7UL);
            using var session = model.ToGpu(context, precision);
            return session.TrainStep(idx, targets);
        }
        float fp32 = Loss(GpuPrecision.Fp32), tf32 = Loss(GpuPrecision.Tf32), bf16 = Loss(GpuPrecision.Bf16);
        output.WriteLine($"first-step loss: cpu {cpu:R}  fp32 {fp32:R}  tf32 {tf32:R}  bf16 {bf16:R}");
        Assert.Equal(cpu, fp32, 1e-5f);
        // docs/cuda.md "Precision": one BF16 product perturbs a logit by at most ~2u·Σ|a||b| = 2⁻⁷·Σ|a||b| (both operands rounded);
        // the first loss, an average over 32 positions of near-uniform predictions, moves far less (measured 2e-5
        // relative; TF32, 2⁻¹¹ per operand, 1e-6). Tolerances 2e-3 and 5e-4.
        Assert.InRange(Math.Abs(bf16 - cpu), 0, 2e-3 * cpu);
        Assert.InRange(Math.Abs(tf32 - cpu), 0, 5e-4 * cpu);
        Assert.NotEqual(cpu, bf16); // the BF16 path was taken: its rounding shows
    }

    [Fact]
    public void Bf16_logits_match_the_fp32_cpu_within_the_bf16_tolerance()
    {
        using var context = GpuContext.OpenEmulated();
        var (idx, _) = Task(2);
        var cpu = new ParityGptBf16(7UL);
        var gpuModel = new ParityGptBf16(7UL);
        using var session = gpuModel.ToGpu(context);
        float[] expected = cpu.Forward(idx).Span.ToArray(), actual = session.Forward(idx).Span.ToArray();
        double scale = expected.Max(v => Math.Abs(v)), worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        output.WriteLine($"logits: max |cpu| {scale:G4}, max |bf16 − cpu| {worst:G4} ({worst / scale:G3} of the largest)");
        // docs/cuda.md "Precision": each of the 9 products on the way to a logit (2 blocks × in_proj, out_proj, two MLP
        // products, then the head) rounds both operands to 8 significant bits (u = 2⁻⁸ relative each), so each perturbs
        // its result by up to 2u = 2⁻⁷ of Σ|a||b|; layer norm rescales but does not amplify a relative error. Worst case
        // 9·2⁻⁷; the tolerance is half of it, 9·2⁻⁸ ≈ 3.5 % of the largest logit. BF16 storage adds a rounding of u per
        // stored value on the path (about 22), whose random signs add like √n (measured 0.90 %, 0.63 % with FP32 storage).
        Assert.InRange(worst, 0, 9.0 / 256 * scale);
        Assert.True(worst > 0, "no BF16 rounding visible: the BF16 path was not taken");
    }

    // Every layer family the model launches takes md_act, so its Bf16 session stores activations in BF16: 2 bytes an
    // element (the logits and attention's qkv here), gradients 4; its Fp32 session 4 throughout.
    [Fact]
    public void The_bf16_session_stores_activations_in_two_bytes()
    {
        Assert.True(ExampleModels.CudaPlans(out _).Single(m => m.Model == nameof(ParityGptBf16)).Module.Bf16Activations);
        using var context = GpuContext.OpenEmulated();
        var (idx, targets) = Task(3);
        long Bytes(GpuPrecision precision, string field)
        {
            using var session = new ParityGptBf16(7UL).ToGpu(context, precision);
            session.TrainStep(idx, targets);
            var workspaces = (Array)session.GetType().GetField("_workspaces", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(session)!;
            var w = workspaces.GetValue(0)!;
            return ((DeviceVariable)w.GetType().GetField(field)!.GetValue(w)!).Bytes;
        }
        Assert.Equal(2L * Batch * Steps * Vocab, Bytes(GpuPrecision.Bf16, "logits"));
        Assert.Equal(2L * Batch * Steps * 96, Bytes(GpuPrecision.Bf16, "h_1_0_a_1_qkv"));
        Assert.Equal(4L * Batch * Steps * Vocab, Bytes(GpuPrecision.Bf16, "d_logits"));
        Assert.Equal(4L * Batch * Steps * Vocab, Bytes(GpuPrecision.Fp32, "logits"));
    }

    [Fact]
    public void Two_hundred_bf16_steps_stay_within_the_stated_margin_of_fp32()
    {
        // CudaParity's own check (it runs on a GPU too): the mean loss of the last 20 steps within 5 % of FP32's
        // (measured 0.1 %: 0.2835 against 0.2832, from 2.71).
        using var context = GpuContext.OpenEmulated();
        var report = new ParityReport();
        var (cpu, bf16) = Bf16Check.TrainingCurve(typeof(ParityGptBf16), context, report);
        foreach (var line in report.Lines) output.WriteLine(line);
        output.WriteLine($"largest single-step difference {Enumerable.Range(0, cpu.Length).Max(s => Math.Abs(cpu[s] - bf16[s])):F4}");
        Assert.True(report.Passed, string.Join("\n", report.Failures));
        // Both runs learn (ln 16 = 2.77 at the start), so the margin compares trained losses.
        Assert.True(cpu.Skip(180).Average() < 0.5 * cpu.Take(20).Average(), "the FP32 run did not learn");
        Assert.Equal(GpuPrecision.Bf16, Bf16Check.DeclaredPrecision(typeof(ParityGptBf16)));
    }
}
