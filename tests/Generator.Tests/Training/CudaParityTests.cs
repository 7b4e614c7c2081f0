using System;
using System.Collections.Generic;
using System.Linq;
using ModelDsl.Cuda;
using ModelDsl.CudaParity;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// The generated GPU half of random models (every op with kernels, rank-2 and rank-3 inputs, residuals and gating,
/// each loss and optimizer, odd sizes) run on the CPU emulator of their CUDA C and compared with their CPU code:
/// every buffer after one step, every parameter gradient, then the losses, parameters and optimizer state of 5 steps.
/// </summary>
public sealed class CudaParityTests : IClassFixture<CudaParityTests.Emulator>
{
    private readonly Emulator _emulator;

    public CudaParityTests(Emulator emulator) => _emulator = emulator;

    [Theory]
    [MemberData(nameof(RandomModelTests.Seeds), MemberType = typeof(RandomModelTests))]
    public void Random_models_match_the_cpu_backend_on_the_emulated_gpu(int seed)
    {
        var (text, _, _, _, _) = RandomModelTests.RandomModel(new Random(seed), seed);
        var compiled = GeneratedModel.Compile(text, $"R{seed}", seed: 3);
        var cpu = compiled.NewInstance(3);
        var gpuModel = compiled.NewInstance(3);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", _emulator.Context);
        var report = new ParityReport();
        // 33 rows: not a multiple of the 8 rows per block or the 32 lanes of a warp.
        ParityCheck.CompareKernels(cpu, gpuModel, session, ParityCheck.RandomBatch(compiled.Type, 11, 3, seed: 1), report);
        ParityCheck.CompareTraining(cpu, gpuModel, session, step => ParityCheck.RandomBatch(compiled.Type, 11, 3, seed: 10 + step), 5, report);
        Assert.True(report.Passed, $"model:\n{text}\n" + string.Join(Environment.NewLine, report.Failures));
    }

    /// <summary>concat on the emulated GPU (md_concat_*): the last axis, a middle axis, an input used twice and a model input, B·T rows.</summary>
    [Theory]
    [InlineData("x: f32[B, 12]", "y: f32[B, 4]", "a = x -> dense(3) -> sigmoid\n    b = x -> dense(5) -> tanh\n    h = concat(a, x, b, a, axis=1) -> dense(4)")]
    [InlineData("x: f32[B, 12]", "y: f32[B, 4]", "a = x -> dense(6) -> reshape([B, 2, 3])\n    b = x -> dense(3) -> tanh -> reshape([B, 1, 3])\n    h = concat(a, b, axis=1) -> flatten -> dense(4)")]
    [InlineData("x: i32[B, T]", "y: i32[B, T]", "e = embedding(x, 7, 5)\n    h = concat(e -> dense(3) -> gelu, e) -> dense(4)")]
    public void Concat_matches_the_cpu_backend_on_the_emulated_gpu(string input, string label, string body)
    {
        string text = $"model Cat {{\n    input {input}\n    label {label}\n    {body}\n    output h\n    loss {(label.Contains("i32") ? "cross_entropy" : "mse")}(h, y)\n    optimizer adam(lr=0.01)\n}}\n";
        var compiled = GeneratedModel.Compile(text, "Cat", seed: 5);
        var cpu = compiled.NewInstance(5);
        var gpuModel = compiled.NewInstance(5);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", _emulator.Context);
        var report = new ParityReport();
        ParityCheck.CompareKernels(cpu, gpuModel, session, ParityCheck.RandomBatch(compiled.Type, 11, 3, seed: 2), report);
        ParityCheck.CompareTraining(cpu, gpuModel, session, step => ParityCheck.RandomBatch(compiled.Type, 11, 3, seed: 20 + step), 3, report);
        Assert.True(report.Passed, $"model:\n{text}\n" + string.Join(Environment.NewLine, report.Failures));
        Assert.Contains(report.Lines, line => line.Contains("h_0", StringComparison.Ordinal));
    }

    /// <summary>
    /// cross_entropy(label_smoothing=ε) on the emulated GPU: the generated loss kernel's terms and gradient against the
    /// CPU's Reductions.SoftmaxCrossEntropy, rows of [B] and of [B, T], classes fewer and more than a warp's 32 lanes.
    /// </summary>
    [Theory]
    [InlineData("x: f32[B, 6]", "y: i32[B]", "h = x -> dense(8) -> tanh -> dense(5)", "0.1")]
    [InlineData("x: f32[B, T, 6]", "y: i32[B, T]", "h = x -> dense(37)", "0.3")]
    public void Cross_entropy_with_label_smoothing_matches_the_cpu_backend_on_the_emulated_gpu(string input, string label, string body, string smoothing)
    {
        string text = $"model Smooth {{\n    input {input}\n    label {label}\n    {body}\n    output h\n    loss cross_entropy(h, y, label_smoothing={smoothing})\n    optimizer adam(lr=0.01)\n}}\n";
        var compiled = GeneratedModel.Compile(text, "Smooth", seed: 9);
        Assert.Contains($"const float smoothing = {smoothing}f;", compiled.GpuSource); // the smoothed kernel, not the plain one
        var cpu = compiled.NewInstance(9);
        var gpuModel = compiled.NewInstance(9);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", _emulator.Context);
        var report = new ParityReport();
        ParityCheck.CompareKernels(cpu, gpuModel, session, ParityCheck.RandomBatch(compiled.Type, 11, 3, seed: 7), report);
        ParityCheck.CompareTraining(cpu, gpuModel, session, step => ParityCheck.RandomBatch(compiled.Type, 11, 3, seed: 70 + step), 3, report);
        Assert.True(report.Passed, $"model:\n{text}\n" + string.Join(Environment.NewLine, report.Failures));
        Assert.Contains(report.Lines, line => line.StartsWith("Smooth loss", StringComparison.Ordinal) && line.EndsWith("ok", StringComparison.Ordinal));
    }

    /// <summary>
    /// gelu's two forms on the emulated GPU: the exact one (md_gelu: CUDA's erff against the CPU's rational erf) and
    /// the tanh one, forward and backward, inputs wide enough (dense outputs of scale ~3) to reach both tails.
    /// </summary>
    [Theory]
    [InlineData("h = x -> dense(9) -> gelu -> dense(9) -> gelu(approximate=\"tanh\") -> dense(4)")]
    [InlineData("a = x -> dense(9) -> gelu(approximate=\"none\")\n    b = x -> dense(9) -> gelu(approximate=\"tanh\")\n    h = (a * b) -> dense(4)")]
    public void Gelu_exact_and_tanh_match_the_cpu_backend_on_the_emulated_gpu(string body)
    {
        string text = $"model Gel {{\n    input x: f32[B, T, 12]\n    label y: f32[B, T, 4]\n    {body}\n    output h\n    loss mse(h, y)\n    optimizer adam(lr=0.01)\n}}\n";
        var compiled = GeneratedModel.Compile(text, "Gel", seed: 6);
        var cpu = compiled.NewInstance(6);
        var gpuModel = compiled.NewInstance(6);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", _emulator.Context);
        var report = new ParityReport();
        ParityCheck.CompareKernels(cpu, gpuModel, session, ParityCheck.RandomBatch(compiled.Type, 11, 3, seed: 4), report);
        ParityCheck.CompareTraining(cpu, gpuModel, session, step => ParityCheck.RandomBatch(compiled.Type, 11, 3, seed: 40 + step), 3, report);
        Assert.True(report.Passed, $"model:\n{text}\n" + string.Join(Environment.NewLine, report.Failures));
        Assert.Equal(6, report.Lines.Count(line => line.StartsWith("Gel d ", StringComparison.Ordinal) && line.EndsWith("ok", StringComparison.Ordinal)));
        // Both forms were really generated on each side: the kernels call them beyond the prelude's definitions.
        int Calls(string text, string name) => text.Split(name).Length - 1;
        foreach (var name in new[] { "md_gelu(", "md_gelu_grad(", "md_gelu_tanh(", "md_gelu_tanh_grad(" })
            Assert.True(Calls(compiled.GpuSource, name) > Calls(ModelDsl.Emit.Cuda.CudaEmitter.PreludeText, name), name);
        Assert.Contains("Activations.Gelu(", compiled.Source);
        Assert.Contains("Activations.GeluTanhGrad(", compiled.Source);
    }

    /// <summary>
    /// attention(mask=m) on the emulated GPU: the fused forward and both backward kernels read the mask (f32 or i32) and
    /// add (1 − m)·(−10000) to the scores as the CPU does; T = 37 spans two key tiles; row 0 is fully padded.
    /// </summary>
    [Theory]
    [InlineData("i32", "")]
    [InlineData("f32", ", causal=true")]
    // dropout on the probabilities: both backends draw the mask from the same slot seed and index, forward and backward
    [InlineData("i32", ", dropout=0.3")]
    [InlineData("f32", ", causal=true, dropout=0.5")]
    public void Attention_with_a_key_padding_mask_matches_the_cpu_backend_on_the_emulated_gpu(string maskType, string causal)
    {
        string text = $"model Masked {{\n    input x: i32[B, T]\n    input m: {maskType}[B, T]\n    label y: i32[B, T]\n    h = embedding(x, 9, 16) -> attention(2, mask=m{causal}) -> dense(5)\n    output h\n    loss cross_entropy(h, y)\n    optimizer adam(lr=0.01)\n}}\n";
        var compiled = GeneratedModel.Compile(text, "Masked", seed: 8);
        var cpu = compiled.NewInstance(8);
        var gpuModel = compiled.NewInstance(8);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", _emulator.Context);
        const int batch = 5, steps = 37;
        object[] Batch(int seed)
        {
            var data = ParityCheck.RandomBatch(compiled.Type, batch, steps, seed);
            // row b: its first (b·11) mod 38 tokens real, the rest padding (row 0 entirely)
            int[] mask = Enumerable.Range(0, batch * steps).Select(i => i % steps < i / steps * 11 % (steps + 1) ? 1 : 0).ToArray();
            data[1] = maskType == "i32" ? new ModelDsl.Runtime.IntTensor(mask, batch, steps) : new ModelDsl.Runtime.Tensor(mask.Select(v => (float)v).ToArray(), batch, steps);
            return data;
        }
        var report = new ParityReport();
        ParityCheck.CompareKernels(cpu, gpuModel, session, Batch(4), report);
        ParityCheck.CompareTraining(cpu, gpuModel, session, step => Batch(40 + step), 3, report);
        Assert.True(report.Passed, $"model:\n{text}\n" + string.Join(Environment.NewLine, report.Failures));
        // every parameter gradient compared: the embedding, in_proj (weight, bias), out_proj (weight, bias), dense (weight, bias)
        Assert.Equal(7, report.Lines.Count(line => line.StartsWith("Masked d ", StringComparison.Ordinal) && line.EndsWith("ok", StringComparison.Ordinal)));
    }

    /// <summary>
    /// Tensor block parameters on the emulated GPU: the mask input read by the attention (with dropout) of every repetition
    /// of a block, and a computed tensor read by every repetition whose gradient sums them; kernels, then 3 training steps.
    /// </summary>
    [Fact]
    public void Repeated_blocks_with_tensor_parameters_match_the_cpu_backend_on_the_emulated_gpu()
    {
        const string text = """
            block Layer(x: f32[B, T, 16], mask: i32[B, T], ctx: f32[B, T, 16], heads) {
                a = x -> attention(heads, mask=mask, dropout=0.25)
                return (x + a + (ctx -> dense(16))) -> layer_norm
            }
            model Blocks {
                input x: i32[B, T]
                input m: i32[B, T]
                label y: i32[B, T]
                e = embedding(x, 9, 16)
                c = e -> dense(16) -> tanh
                h = e -> repeat 3 Layer(m, c, 2) -> dense(5)
                output h
                loss cross_entropy(h, y)
                optimizer sgd(lr=0.05)
            }
            """;
        // SGD: the key part of in_proj's bias has a gradient that is rounding noise (exactly 0 in exact arithmetic), which
        // Adam's normalisation would turn into steps of lr through three layers (ParityCheck.CompareValues).
        var compiled = GeneratedModel.Compile(text, "Blocks", seed: 8);
        var cpu = compiled.NewInstance(8);
        var gpuModel = compiled.NewInstance(8);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", _emulator.Context);
        const int batch = 4, steps = 9;
        object[] Batch(int seed)
        {
            var data = ParityCheck.RandomBatch(compiled.Type, batch, steps, seed);
            int[] mask = Enumerable.Range(0, batch * steps).Select(i => i % steps < steps - 2 * (i / steps) ? 1 : 0).ToArray();
            data[1] = new ModelDsl.Runtime.IntTensor(mask, batch, steps);
            return data;
        }
        var report = new ParityReport();
        ParityCheck.CompareKernels(cpu, gpuModel, session, Batch(4), report);
        ParityCheck.CompareTraining(cpu, gpuModel, session, step => Batch(40 + step), 3, report);
        Assert.True(report.Passed, $"model:\n{text}\n" + string.Join(Environment.NewLine, report.Failures));
        // every parameter gradient compared: embedding, c's dense (2), per repetition in_proj (2), out_proj (2), ctx dense (2), layer norm (2), the head (2)
        Assert.Equal(1 + 2 + 3 * 8 + 2, report.Lines.Count(line => line.StartsWith("Blocks d ", StringComparison.Ordinal) && line.EndsWith("ok", StringComparison.Ordinal)));
    }

    /// <summary>leaky_relu and elu on the emulated GPU: their fused loops (elu's md_negative_exp_m1) forward and backward, default and given constants.</summary>
    [Theory]
    [InlineData("h = x -> dense(9) -> leaky_relu -> dense(9) -> elu -> dense(4)")]
    [InlineData("a = x -> dense(9) -> elu(alpha=0.6)\n    b = a -> dense(9) -> leaky_relu(negative_slope=0.25)\n    s = a + b\n    h = s -> dense(4)")]
    public void Leaky_relu_and_elu_match_the_cpu_backend_on_the_emulated_gpu(string body)
    {
        string text = $"model Act {{\n    input x: f32[B, T, 12]\n    label y: f32[B, T, 4]\n    {body}\n    output h\n    loss mse(h, y)\n    optimizer adam(lr=0.01)\n}}\n";
        var compiled = GeneratedModel.Compile(text, "Act", seed: 6);
        var cpu = compiled.NewInstance(6);
        var gpuModel = compiled.NewInstance(6);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", _emulator.Context);
        var report = new ParityReport();
        ParityCheck.CompareKernels(cpu, gpuModel, session, ParityCheck.RandomBatch(compiled.Type, 11, 3, seed: 4), report);
        ParityCheck.CompareTraining(cpu, gpuModel, session, step => ParityCheck.RandomBatch(compiled.Type, 11, 3, seed: 40 + step), 3, report);
        Assert.True(report.Passed, $"model:\n{text}\n" + string.Join(Environment.NewLine, report.Failures));
        // Not a vacuous pass: every parameter gradient (each one through the leaky_relu and elu backward) was compared.
        Assert.Equal(6, report.Lines.Count(line => line.StartsWith("Act d ", StringComparison.Ordinal) && line.EndsWith("ok", StringComparison.Ordinal)));
    }

    /// <summary>Image layers (issue 15) on the emulated GPU: conv2d with padding="same", kernel by kernel and a few steps.</summary>
    [Theory]
    [InlineData("h = x -> conv2d(3, kernel=3, padding=\"same\") -> tanh -> conv2d(2, kernel=5, padding=\"same\") -> flatten -> dense(4)", 6)]
    [InlineData("h = x -> conv2d(3, kernel=3, padding=\"same\") -> tanh -> global_avg_pool2d -> dense(4)", 4)]
    [InlineData("a = x -> conv2d(4, kernel=3, padding=1)\n    h = (a -> global_max_pool2d) + (a -> global_avg_pool2d)", 2)]
    [InlineData("a = x -> conv2d(4, kernel=3) -> permute(0, 2, 3, 1) -> dense(3)\n    h = a -> permute(0, 3, 1, 2) -> global_max_pool2d -> dense(4)", 6)]
    public void Image_layers_match_the_cpu_backend_on_the_emulated_gpu(string body, int gradients)
    {
        string text = $"model Img {{\n    input x: f32[B, 2, 6, 6]\n    label y: f32[B, 4]\n    {body}\n    output h\n    loss mse(h, y)\n    optimizer adam(lr=0.01)\n}}\n";
        var compiled = GeneratedModel.Compile(text, "Img", seed: 7);
        var cpu = compiled.NewInstance(7);
        var gpuModel = compiled.NewInstance(7);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", _emulator.Context);
        var report = new ParityReport();
        ParityCheck.CompareKernels(cpu, gpuModel, session, ParityCheck.RandomBatch(compiled.Type, 11, 3, seed: 5), report);
        ParityCheck.CompareTraining(cpu, gpuModel, session, step => ParityCheck.RandomBatch(compiled.Type, 11, 3, seed: 50 + step), 3, report);
        Assert.True(report.Passed, $"model:\n{text}\n" + string.Join(Environment.NewLine, report.Failures));
        // Not a vacuous pass: every parameter gradient (each one through the layer's backward) was compared.
        Assert.Equal(gradients, report.Lines.Count(line => line.StartsWith("Img d ", StringComparison.Ordinal) && line.EndsWith("ok", StringComparison.Ordinal)));
    }

    /// <summary>select and slice on the emulated GPU (md_narrow_*): a known and a symbolic axis, a negative index, a gradient added twice.</summary>
    [Theory]
    [InlineData("f32[B, 5, 6]", "a = x -> dense(8) -> tanh\n    h = (a -> select(axis=1, index=0)) + (a -> slice(1, start=-3) -> select(1, -1)) -> dense(4)")]
    [InlineData("f32[B, T, 6]", "a = x -> dense(8)\n    h = a -> slice(axis=1, start=0, end=2) -> tanh -> flatten -> dense(4)")]
    public void Select_and_slice_match_the_cpu_backend_on_the_emulated_gpu(string input, string body)
    {
        string text = $"model Rows {{\n    input x: {input}\n    label y: f32[B, 4]\n    {body}\n    output h\n    loss mse(h, y)\n    optimizer adam(lr=0.01)\n}}\n";
        var compiled = GeneratedModel.Compile(text, "Rows", seed: 8);
        var cpu = compiled.NewInstance(8);
        var gpuModel = compiled.NewInstance(8);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", _emulator.Context);
        var report = new ParityReport();
        ParityCheck.CompareKernels(cpu, gpuModel, session, ParityCheck.RandomBatch(compiled.Type, 11, 3, seed: 6), report);
        ParityCheck.CompareTraining(cpu, gpuModel, session, step => ParityCheck.RandomBatch(compiled.Type, 11, 3, seed: 60 + step), 3, report);
        Assert.True(report.Passed, $"model:\n{text}\n" + string.Join(Environment.NewLine, report.Failures));
        // Not a vacuous pass: both dense layers' weight and bias gradients (through the narrow backward) were compared.
        Assert.Equal(4, report.Lines.Count(line => line.StartsWith("Rows d ", StringComparison.Ordinal) && line.EndsWith("ok", StringComparison.Ordinal)));
    }

    /// <summary>mean, sum and max on the emulated GPU (md_reduce_*): plain, keepdim, and masked by an i32 [B, T] input (0/1: the labels have 2 classes).</summary>
    [Theory]
    [InlineData("a = x -> dense(8) -> tanh\n    h = (a -> mean(axis=1)) + (a -> max(1)) + (a -> sum(1, keepdim=true) -> flatten) -> dense(2)")]
    [InlineData("a = x -> dense(8) -> tanh\n    h = (a -> mean(axis=1, mask=m)) + (a -> max(1, mask=m)) + (a -> sum(1, mask=m)) -> dense(2)")]
    public void Reductions_match_the_cpu_backend_on_the_emulated_gpu(string body)
    {
        string text = $"model Pool {{\n    input x: f32[B, T, 6]\n    input m: i32[B, T]\n    label y: i32[B]\n    {body}\n    output h\n    loss cross_entropy(h, y)\n    optimizer adam(lr=0.01)\n}}\n";
        var compiled = GeneratedModel.Compile(text, "Pool", seed: 9);
        var cpu = compiled.NewInstance(9);
        var gpuModel = compiled.NewInstance(9);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", _emulator.Context);
        var report = new ParityReport();
        ParityCheck.CompareKernels(cpu, gpuModel, session, ParityCheck.RandomBatch(compiled.Type, 11, 5, seed: 7), report);
        ParityCheck.CompareTraining(cpu, gpuModel, session, step => ParityCheck.RandomBatch(compiled.Type, 11, 5, seed: 70 + step), 3, report);
        Assert.True(report.Passed, $"model:\n{text}\n" + string.Join(Environment.NewLine, report.Failures));
        // Not a vacuous pass: both dense layers' weight and bias gradients (through the reduce backward) were compared.
        Assert.Equal(4, report.Lines.Count(line => line.StartsWith("Pool d ", StringComparison.Ordinal) && line.EndsWith("ok", StringComparison.Ordinal)));
    }

    /// <summary>
    /// batch_norm on the emulated GPU (batchnorm.cuh through ModelDsl.Cuda.Layers.BatchNorm): kernel by kernel in training
    /// mode, a few training steps, then the running statistics and the counter after them, and an inference Forward
    /// (running statistics) on both. No bias before a batch_norm (PyTorch's ResNets have none): its gradient is zero up
    /// to rounding, which Adam scales up to full steps, so the two backends' rounding would decide its sign.
    /// </summary>
    [Theory]
    [InlineData("a = x -> conv2d(3, kernel=3, padding=1, bias=false) -> batch_norm -> relu\n    h = (a + (a -> conv2d(3, kernel=3, padding=1, bias=false) -> batch_norm)) -> relu -> global_avg_pool2d -> dense(4)", 8)]
    [InlineData("h = x -> conv2d(3, kernel=3, padding=1, bias=false) -> batch_norm(affine=false, momentum=0.3) -> flatten -> dense(4, bias=false) -> batch_norm -> tanh", 4)]
    public void Batch_norm_matches_the_cpu_backend_on_the_emulated_gpu(string body, int gradients)
    {
        string text = $"model Bn {{\n    input x: f32[B, 2, 6, 6]\n    label y: f32[B, 4]\n    {body}\n    output h\n    loss mse(h, y)\n    optimizer adam(lr=0.01)\n}}\n";
        var compiled = GeneratedModel.Compile(text, "Bn", seed: 8);
        var cpu = compiled.NewInstance(8);
        var gpuModel = compiled.NewInstance(8);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", _emulator.Context);
        var report = new ParityReport();
        ParityCheck.CompareKernels(cpu, gpuModel, session, ParityCheck.RandomBatch(compiled.Type, 11, 3, seed: 6), report);
        ParityCheck.CompareTraining(cpu, gpuModel, session, step => ParityCheck.RandomBatch(compiled.Type, 11, 3, seed: 60 + step), 3, report);
        Assert.True(report.Passed, $"model:\n{text}\n" + string.Join(Environment.NewLine, report.Failures));
        Assert.Equal(gradients, report.Lines.Count(line => line.StartsWith("Bn d ", StringComparison.Ordinal) && line.EndsWith("ok", StringComparison.Ordinal)));

        // num_batches_tracked is counted on the host at each launch, which a replayed CUDA graph would skip: the session
        // trains without graphs and says why (docs/cuda.md, "CUDA graphs").
        string? reason = (string?)session.GetType().GetProperty("GraphFallbackReason")!.GetValue(session);
        Assert.Contains("BatchNorm.Forward takes the counter '", reason);
        Assert.Contains("num_batches_tracked' (counted on the host) from the host at each launch", reason);
        Assert.Equal(0, (int)session.GetType().GetProperty("GraphCaptures")!.GetValue(session)!);

        // The running statistics moved on the device as on the CPU (same batches, same number of training forwards).
        ParityCheck.Invoke(session, "CopyToHost");
        var cpuStates = (IReadOnlyList<ModelDsl.Runtime.StateBuffer>)compiled.Type.GetProperty("States")!.GetValue(cpu)!;
        var gpuStates = (IReadOnlyList<ModelDsl.Runtime.StateBuffer>)compiled.Type.GetProperty("States")!.GetValue(gpuModel)!;
        for (int k = 0; k < cpuStates.Count; k++)
        {
            Assert.Equal(cpuStates[k].Count, gpuStates[k].Count);
            Assert.True(cpuStates[k].IsCounter ? cpuStates[k].Count > 0 : cpuStates[k].Value.Any(v => v != cpuStates[k].Initial), cpuStates[k].Name + " never moved");
            for (int i = 0; i < cpuStates[k].Value.Length; i++)
                Assert.True(Math.Abs(cpuStates[k].Value[i] - gpuStates[k].Value[i]) <= 1e-4f + 1e-4f * Math.Abs(cpuStates[k].Value[i]),
                    $"{cpuStates[k].Name}[{i}]: CPU {cpuStates[k].Value[i]}, GPU {gpuStates[k].Value[i]}");
        }
        // Inference reads the running statistics on both.
        var x = ParityCheck.RandomBatch(compiled.Type, 5, 3, seed: 61)[0];
        var cpuOut = ((ModelDsl.Runtime.Tensor)ParityCheck.Invoke(cpu, "Forward", x)).Span.ToArray();
        var gpuOut = ((ModelDsl.Runtime.Tensor)ParityCheck.Invoke(session, "Forward", x)).Span.ToArray();
        for (int i = 0; i < cpuOut.Length; i++)
            Assert.True(Math.Abs(cpuOut[i] - gpuOut[i]) <= 1e-4f + 1e-3f * Math.Abs(cpuOut[i]), $"Forward[{i}]: CPU {cpuOut[i]}, GPU {gpuOut[i]}");
    }

    /// <summary>gru on the emulated GPU (gru.cuh through ModelDsl.Cuda.Layers.Gru): kernel by kernel and a few training steps.</summary>
    [Theory]
    [InlineData("h = x -> gru(5) -> dense(4)", "y: f32[B, 4]", 6)]
    [InlineData("h = x -> dense(6) -> gru(5, return_sequences=true) -> gru(3, return_sequences=true) -> dense(4)", "y: f32[B, T, 4]", 12)]
    public void Gru_matches_the_cpu_backend_on_the_emulated_gpu(string body, string label, int gradients)
    {
        string text = $"model Rnn {{\n    input x: f32[B, T, 6]\n    label {label}\n    {body}\n    output h\n    loss mse(h, y)\n    optimizer adam(lr=0.01)\n}}\n";
        var compiled = GeneratedModel.Compile(text, "Rnn", seed: 8);
        var cpu = compiled.NewInstance(8);
        var gpuModel = compiled.NewInstance(8);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", _emulator.Context);
        var report = new ParityReport();
        ParityCheck.CompareKernels(cpu, gpuModel, session, ParityCheck.RandomBatch(compiled.Type, 11, 3, seed: 6), report);
        ParityCheck.CompareTraining(cpu, gpuModel, session, step => ParityCheck.RandomBatch(compiled.Type, 11, 3, seed: 60 + step), 3, report);
        Assert.True(report.Passed, $"model:\n{text}\n" + string.Join(Environment.NewLine, report.Failures));
        // Not a vacuous pass: every parameter gradient (through the GRU's backward) was compared.
        Assert.Equal(gradients, report.Lines.Count(line => line.StartsWith("Rnn d ", StringComparison.Ordinal) && line.EndsWith("ok", StringComparison.Ordinal)));
    }

    /// <summary>
    /// bidirectional lstm and gru on the emulated GPU (each direction through lstm.cuh / gru.cuh, md_sequence_copy around
    /// them): kernel by kernel and a few training steps; every parameter gradient of both directions compared.
    /// </summary>
    [Theory]
    [InlineData("h = x -> lstm(5, bidirectional=true) -> dense(4)", "y: f32[B, 4]", 10)]
    [InlineData("h = x -> dense(6) -> gru(5, return_sequences=true, bidirectional=true) -> lstm(3, return_sequences=true, bidirectional=true) -> dense(4)", "y: f32[B, T, 4]", 20)]
    [InlineData("h = x -> gru(3, bidirectional=true)", "y: f32[B, 6]", 8)]
    public void Bidirectional_lstm_and_gru_match_the_cpu_backend_on_the_emulated_gpu(string body, string label, int gradients)
    {
        string text = $"model Bi {{\n    input x: f32[B, T, 6]\n    label {label}\n    {body}\n    output h\n    loss mse(h, y)\n    optimizer adam(lr=0.01)\n}}\n";
        var compiled = GeneratedModel.Compile(text, "Bi", seed: 8);
        Assert.Contains("md_sequence_copy", compiled.GpuSource);
        var cpu = compiled.NewInstance(8);
        var gpuModel = compiled.NewInstance(8);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", _emulator.Context);
        var report = new ParityReport();
        ParityCheck.CompareKernels(cpu, gpuModel, session, ParityCheck.RandomBatch(compiled.Type, 11, 3, seed: 6), report);
        ParityCheck.CompareTraining(cpu, gpuModel, session, step => ParityCheck.RandomBatch(compiled.Type, 11, 3, seed: 60 + step), 3, report);
        Assert.True(report.Passed, $"model:\n{text}\n" + string.Join(Environment.NewLine, report.Failures));
        Assert.Equal(gradients, report.Lines.Count(line => line.StartsWith("Bi d ", StringComparison.Ordinal) && line.EndsWith("ok", StringComparison.Ordinal)));
    }

    /// <summary>One emulator for the class: its compiled modules are cached on disk, so later runs skip g++.</summary>
    public sealed class Emulator : IDisposable
    {
        public GpuContext Context { get; } = GpuContext.OpenEmulated();

        public void Dispose() => Context.Dispose();
    }
}
