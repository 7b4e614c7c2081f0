using System;
using System.Linq;
using ModelDsl.CudaParity;
using ModelDsl.Runtime;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// Emitters own their names (issue 12): a model may be named like a runtime type or a C# keyword, in a project whose
/// root namespace has the model's name and declares types named like every runtime and System type the generated code
/// uses, with bindings, inputs and symbols named like the generated code's own locals, temporaries and members, and
/// like CUDA C's keywords and built-ins. Each model here is compiled by Roslyn with no warning, trained on the CPU, and
/// run on the emulated GPU against its CPU code, kernel by kernel and over several steps.
/// </summary>
public sealed class NamingTests : IClassFixture<CudaParityTests.Emulator>
{
    private readonly CudaParityTests.Emulator _emulator;

    public NamingTests(CudaParityTests.Emulator emulator) => _emulator = emulator;

    /// <summary>
    /// The consumer's own code: types in its root namespace named like everything the generated files call. Any simple
    /// (not <c>global::</c>) name in generated code would bind to one of these and fail to compile. The model's own name is
    /// left out: the model is that type.
    /// </summary>
    private static string Consumer(string rootNamespace, string model) => ConsumerTypes(rootNamespace).Replace($"internal sealed class {model} {{ }}", "");

    private static string ConsumerTypes(string rootNamespace) => $$"""
        namespace {{rootNamespace}}
        {
            internal sealed class Tensor { } internal sealed class IntTensor { } internal sealed class Parameter { }
            internal sealed class ModelGuard { } internal sealed class KernelTrace { } internal sealed class BufferSize { }
            internal sealed class Hyperparameters { } internal sealed class NonFiniteException { } internal interface ITrainableModel { }
            internal sealed class Activations { } internal sealed class Dropout { } internal sealed class Sgemm { }
            internal sealed class Reductions { } internal sealed class Losses { } internal sealed class Optimizers { }
            internal sealed class Init { } internal sealed class ShapeCheck { } internal sealed class Safetensors { }
            internal sealed class Layers { } internal sealed class Cpu { } internal sealed class Runtime { } internal sealed class Cuda { }
            internal sealed class Array { } internal sealed class Span { } internal sealed class Math { } internal sealed class MathF { }
            internal sealed class Action { } internal interface IDisposable { } internal sealed class ArgumentNullException { }
            internal sealed class MemoryMarshal { } internal sealed class Unsafe { } internal sealed class Vector256 { }
            internal sealed class IReadOnlyList { } internal sealed class GpuContext { } internal sealed class GpuModule { }
            internal sealed class GpuKernel { } internal sealed class DeviceVariable { } internal sealed class DevicePointer { }
            internal sealed class KernelArguments { } internal sealed class Grid { } internal sealed class Dim3 { }
            internal sealed class System { } internal sealed class ModelDsl { } internal sealed class Console { }
            public static class Program { public static void Main() { } }
        }
        """;

    /// <summary>
    /// Issue 12's case: a model named <c>Metrics</c> in root namespace <c>Metrics</c>, with bindings named <c>v0</c>,
    /// <c>seed</c>, <c>Sgemm</c>, <c>Workspace</c> and <c>row_max</c> (and more: a CUDA built-in, the prelude's prefix, a
    /// C# member, the loop locals, the column-sum temporaries).
    /// </summary>
    private const string MetricsModel = """
        model Metrics {
            input x: f32[B, 12]
            label y: i32[B]
            v0 = x -> dense(16) -> relu
            seed = v0 -> dropout(0.25)
            Sgemm = seed -> dense(16) -> gelu
            Workspace = Sgemm -> dense(16) -> relu
            row_max = Workspace + v0 -> dense(8) -> tanh
            threadIdx = row_max -> dense(8) -> sigmoid
            md_relu = threadIdx -> dense(8) -> silu
            rows = md_relu -> dense(8) -> relu
            Output = rows + md_relu -> dense(8) -> relu
            logits = Output -> dense(5)
            output logits
            loss cross_entropy(logits, y)
            optimizer adam(lr=0.01)
        }
        """;

    /// <summary>C# keywords as the model's name, its inputs, bindings and a symbol; C and CUDA keywords with them.</summary>
    private const string KeywordModel = """
        model class {
            input caller: f32[i, 6]
            label step: f32[i, 3]
            int = caller -> dense(8) -> relu
            float = int -> dropout(0.5)
            new = float -> dense(8) -> tanh
            this = new + int
            namespace = this -> dense(3)
            output namespace
            loss mse(namespace, step)
            optimizer sgd(lr=0.05, momentum=0.9)
        }
        """;

    /// <summary>Layer kernels (conv2d, pooling, layer_norm) with names their launch blocks use (<c>geometry</c>, <c>context</c>).</summary>
    private const string LayerModel = """
        model Activations {
            input image: f32[B, 1, 6, 6]
            label y: i32[B]
            geometry = image -> conv2d(4, kernel=3, padding=1) -> relu -> max_pool2d(2)
            Layers = geometry -> flatten -> dense(16) -> layer_norm -> gelu
            context = Layers -> dense(4)
            output context
            loss cross_entropy(context, y)
            optimizer adamw(lr=0.01)
        }
        """;

    [Theory]
    [InlineData("Metrics", "Metrics", new[] { "w.v0_2", "w.seed", "w.Sgemm", "w.Workspace_2", "w.rows_2" }, new[] { "v0_2[i]", "threadIdx_2[i]", "u_md_relu[i]", "rows_2[i]" })]
    [InlineData("class", "Keywords", new[] { "partial class @class", "w.int_2", "w.float_2", "w.new_2", "w.namespace_2", "caller_2", "step_2", "int i_2" }, new[] { "int_2[i]", "float_2[i]", "new_2[i]", "namespace_2[i]" })]
    [InlineData("Activations", "Activations", new[] { "w.geometry_2", "w.Layers", "w.context_2" }, new string[0])]
    public void A_model_named_like_what_generated_code_uses_builds_trains_and_matches_on_the_emulated_gpu(string model, string rootNamespace, string[] csharpNames, string[] cudaNames)
    {
        string text = model switch { "Metrics" => MetricsModel, "class" => KeywordModel, _ => LayerModel };
        var compiled = GeneratedModel.Compile(text, model, seed: 3, rootNamespace: rootNamespace, consumerSource: Consumer(rootNamespace, model));

        Assert.Empty(compiled.Warnings);
        // The names really reached generated code, kept where free (seed, Sgemm) and renamed where they met the emitter's
        // own: C#'s numbered temporaries (v0), the Workspace class and a loop's rows, keywords, Prepare's caller and step;
        // CUDA's numbered temporaries, built-ins, the prelude's md_ prefix, a kernel's rows, C++ keywords.
        foreach (var name in csharpNames) Assert.Contains(name, compiled.Source + compiled.GpuSource);
        string cuda = compiled.GpuSource[compiled.GpuSource.IndexOf("CudaSource = ", StringComparison.Ordinal)..];
        foreach (var name in cudaNames) Assert.Contains(name, cuda);

        // It trains on the CPU: the loss on a fixed batch falls over a few steps.
        var batch = ParityCheck.RandomBatch(compiled.Type, 16, 3, seed: 1);
        float first = (float)compiled.Call("TrainStep", batch), last = first;
        for (int step = 0; step < 30; step++) last = (float)compiled.Call("TrainStep", batch);
        Assert.True(float.IsFinite(last) && last < first, $"loss {first} -> {last}");

        // The GPU half (its CUDA C on the emulator) computes what the CPU half computes.
        var cpu = compiled.NewInstance(3);
        var gpuModel = compiled.NewInstance(3);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", _emulator.Context);
        var report = new ParityReport();
        ParityCheck.CompareKernels(cpu, gpuModel, session, ParityCheck.RandomBatch(compiled.Type, 11, 3, seed: 1), report);
        ParityCheck.CompareTraining(cpu, gpuModel, session, step => ParityCheck.RandomBatch(compiled.Type, 11, 3, seed: 10 + step), 4, report);
        Assert.True(report.Passed, string.Join(Environment.NewLine, report.Failures));
    }
}
