using System;
using System.Linq;
using ModelDsl.Cuda.Layers;
using ModelDsl.Emit.Cuda;
using ModelDsl.Runtime.Cpu.Layers;
using GpuLayers = ModelDsl.Cuda.Layers;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>
/// The launchers in ModelDsl.Cuda.Layers check every launch against the kernel's signature as <see cref="KernelSignature"/>
/// parses it from the library's .cuh files (names, count, types, in order), so a launcher that drifts from its kernel
/// fails at its first launch, naming both. Here: every library kernel is launched by some launcher (each passing the
/// check), and a launch that does not match is refused before it reaches the device.
/// </summary>
public sealed class LayerLauncherTests : IDisposable
{
    private readonly GpuContext _context = GpuContext.OpenEmulated();
    private readonly GpuModule _module;
    private readonly LayerContext _layers;

    public LayerLauncherTests()
    {
        // One module with every family, as a model using all of them would hold.
        string source = CudaEmitter.PreludeText + string.Concat(Enum.GetValues<LayerFamily>().Select(CudaLayerLibrary.Source));
        _module = _context.LoadModule("layers_all", source);
        _layers = new LayerContext(_context, _module);
    }

    [Fact]
    public void Every_library_kernel_is_launched_by_a_launcher_that_passes_the_signature_check()
    {
        using DeviceVariable a = _context.Allocate(4L * 65536), b = _context.Allocate(4L * 65536), c = _context.Allocate(4L * 65536);
        using DeviceVariable d = _context.Allocate(4L * 65536), e = _context.Allocate(4L * 65536), f = _context.Allocate(4L * 65536);
        DevicePointer p = a.Pointer, q = b.Pointer, r = c.Pointer, s = d.Pointer, t = e.Pointer, u = f.Pointer;

        GpuLayers.Bf16.Round(_layers, 7, p, q);
        GpuLayers.Bf16.Widen(_layers, 7, q, r);
        GpuLayers.LayerNorm.Forward(_layers, 3, 5, p, q, r, s, t, u);
        GpuLayers.LayerNorm.Backward(_layers, 3, 5, p, q, r, s, t, u, p.Plus(5000), q.Plus(5000));
        GpuLayers.Softmax.Forward(_layers, 3, 5, p, q);
        GpuLayers.Softmax.Backward(_layers, 3, 5, p, q, r);
        GpuLayers.Embedding.Forward(_layers, 4, 3, 2, p, q, r); // ids: zeros
        GpuLayers.Embedding.Backward(_layers, 4, 3, 2, -1, p, q, r);
        GpuLayers.Positional.Forward(_layers, 2, 3, 4, 5, p, q, r);
        GpuLayers.Positional.Backward(_layers, 2, 3, 4, 5, p, q, r);
        var pool = new Pool2dGeometry(2, 3, 6, 6, 2, 2);
        GpuLayers.MaxPool2d.Forward(_layers, pool, p, q, r);
        GpuLayers.MaxPool2d.Backward(_layers, pool, q, r, s);
        GpuLayers.AvgPool2d.Forward(_layers, pool, p, q);
        GpuLayers.AvgPool2d.Backward(_layers, pool, q, s);
        GpuLayers.GlobalMaxPool2d.Forward(_layers, 6, 36, p, q, r);
        GpuLayers.GlobalMaxPool2d.Backward(_layers, 6, 36, q, r, s);
        GpuLayers.GlobalAvgPool2d.Forward(_layers, 6, 36, p, q);
        GpuLayers.GlobalAvgPool2d.Backward(_layers, 6, 36, q, s);
        GpuLayers.Permute.Forward(_layers, 1, 2, 3, 4, 0, 1, 8, 2, p, q);
        GpuLayers.Permute.Backward(_layers, 1, 2, 4, 3, 0, 12, 1, 4, q, s, accumulate: true);
        GpuLayers.Narrow.Forward(_layers, 2, 5, 3, -2, 2, p, q);
        GpuLayers.Narrow.Backward(_layers, 2, 5, 3, 1, 3, q, s, accumulate: true);
        GpuLayers.ReduceSum.Forward(_layers, 2, 5, 3, true, p, default, q, r);
        GpuLayers.ReduceSum.Backward(_layers, 2, 5, 3, false, default, default, r, s, accumulate: true);
        GpuLayers.ReduceMax.Forward(_layers, 2, 5, 3, default, default, q, r, t);
        GpuLayers.ReduceMax.Backward(_layers, 2, 5, 3, r, t, s);
        var conv = new Conv2dGeometry(2, 3, 6, 6, 4, 3, 1, 1);
        GpuLayers.Conv2d.Forward(_layers, conv, p, q, r, s, t);
        GpuLayers.Conv2d.Backward(_layers, conv, p, q, s, u, r, a.Pointer.Plus(100), t);
        GpuLayers.Lstm.Forward(_layers, 2, 3, 4, 5, p, q, r, s, s.Plus(20), u, default, default, t);
        GpuLayers.Lstm.Backward(_layers, 2, 3, 4, 5, p, q, r, u, default, s, t, default, p.Plus(1000), q.Plus(1000), r.Plus(1000), s.Plus(1000));
        GpuLayers.Gru.Forward(_layers, 2, 3, 4, 5, p, q, r, s, s.Plus(20), u, default, t);
        GpuLayers.Gru.Backward(_layers, 2, 3, 4, 5, p, q, r, u, default, s, t, default, p.Plus(1000), q.Plus(1000), r.Plus(1000), s.Plus(1000));
        GpuLayers.Attention.Forward(_layers, 2, 3, 2, 4, true, p, p.Plus(8), p.Plus(16), 24, q, r);
        GpuLayers.Attention.Backward(_layers, 2, 3, 2, 4, true, p, p.Plus(8), p.Plus(16), 24, q, r, s, s.Plus(8), s.Plus(16));
        GpuLayers.FlashAttention.Forward(_layers, 2, 3, 2, 64, true, p, p.Plus(128), p.Plus(256), 384, q, r);
        GpuLayers.FlashAttention.Backward(_layers, 2, 3, 2, 64, true, p, p.Plus(128), p.Plus(256), 384, q, t, r, s, s.Plus(128), s.Plus(256));
        GpuLayers.Concat.Forward(_layers, 3, 2, 5, 1, p, q);
        GpuLayers.Concat.Backward(_layers, 3, 2, 5, 1, q, p);
        GpuLayers.Sequence.Copy(_layers, 2, 3, 4, 4, 0, 8, 4, p, q, reverse: true, accumulate: true);
        GpuLayers.Sequence.CopyGradient(_layers, 2, 3, 4, 8, 4, 4, 0, q, p, reverse: true);
        var counter = ModelDsl.Runtime.StateBuffer.Counter("bn.num_batches_tracked", "test");
        GpuLayers.BatchNorm.Forward(_layers, 2, 3, 4, p, q, r, s, t, u, t.Plus(100), u.Plus(100), counter, 0.1f, 1e-5f, training: true);
        GpuLayers.BatchNorm.Backward(_layers, 2, 3, 4, p, q, t, u, s, p.Plus(1000), q.Plus(1000), r.Plus(1000));
        // The kernels a launcher takes only when activations are BF16 (a context of 2-byte activations over the same
        // module: the arguments are checked against the same parsed signatures).
        var bf16 = new LayerContext(_context, _module, activationBytes: 2);
        GpuLayers.Conv2d.Forward(bf16, conv, p, q, r, s, t);
        GpuLayers.Lstm.Forward(bf16, 2, 3, 4, 5, p, q, r, s, s.Plus(20), u, default, default, t);
        GpuLayers.Lstm.Backward(bf16, 2, 3, 4, 5, p, q, r, u, default, s, t, default, p.Plus(1000), q.Plus(1000), r.Plus(1000), s.Plus(1000));
        GpuLayers.Gru.Forward(bf16, 2, 3, 4, 5, p, q, r, s, s.Plus(20), u, default, t);
        GpuLayers.Gru.Backward(bf16, 2, 3, 4, 5, p, q, r, u, default, s, t, default, p.Plus(1000), q.Plus(1000), r.Plus(1000), s.Plus(1000));
        _context.Synchronize();

        var library = LayerKernels.Signatures.Keys.OrderBy(n => n, StringComparer.Ordinal).ToList();
        Assert.Equal(55, library.Count);
        Assert.Equal(library, _layers.LaunchedKernels.Concat(bf16.LaunchedKernels).Distinct().OrderBy(n => n, StringComparer.Ordinal));
    }

    [Fact]
    public void A_launch_that_does_not_match_the_parsed_signature_is_refused_naming_the_kernel_and_parameter()
    {
        var kernel = _layers.Kernel("md_softmax_forward");
        Assert.Equal("md_softmax_forward(int rows, int cols, const md_act* x, md_act* y)", kernel.Signature.ToString());

        // A wrong name, a wrong type (a write where the kernel reads; a float pointer where it takes an activation), a
        // float where it takes an int.
        var wrongName = kernel.Arguments();
        wrongName.Int("rows", 1);
        var error = Assert.Throws<InvalidOperationException>(() => wrongName.Int("columns", 1));
        Assert.Equal("md_softmax_forward: argument 2 is 'int cols' in its declaration, but a launcher passes 'int columns'", error.Message);

        var wrongType = kernel.Arguments();
        wrongType.Int("rows", 1);
        wrongType.Int("cols", 1);
        error = Assert.Throws<InvalidOperationException>(() => wrongType.WritesActivation("x", default));
        Assert.Contains("argument 3 is 'const md_act* x' in its declaration, but a launcher passes 'md_act* x'", error.Message);
        error = Assert.Throws<InvalidOperationException>(() => wrongType.Reads("x", default));
        Assert.Contains("argument 3 is 'const md_act* x' in its declaration, but a launcher passes 'const float* x'", error.Message);
        Assert.Throws<InvalidOperationException>(() => kernel.Arguments().Float("rows", 1f));

        // Too few, then too many.
        var tooFew = kernel.Arguments();
        tooFew.Int("rows", 1);
        tooFew.Int("cols", 1);
        error = Assert.Throws<InvalidOperationException>(() => kernel.Launch(Grid.WarpRows(1), Grid.Block, ref tooFew));
        Assert.Equal("md_softmax_forward: launched with 2 of its 4 arguments; the next is const md_act* x", error.Message);
        var tooMany = kernel.Arguments();
        tooMany.Int("rows", 1);
        tooMany.Int("cols", 1);
        tooMany.ReadsActivation("x", default);
        tooMany.WritesActivation("y", default);
        error = Assert.Throws<InvalidOperationException>(() => tooMany.Int("extra", 1));
        Assert.Contains("takes 4 arguments", error.Message);

        // Arguments built for one kernel are not launched with another.
        var other = _layers.Kernel("md_softmax_backward");
        error = Assert.Throws<InvalidOperationException>(() => other.Launch(Grid.WarpRows(1), Grid.Block, ref tooMany));
        Assert.Contains("built for md_softmax_forward", error.Message);
        Assert.Equal(0, kernel.Launches);
        Assert.Throws<ArgumentException>(() => _layers.Kernel("md_not_a_kernel"));
    }

    public void Dispose()
    {
        _module.Dispose();
        _context.Dispose();
    }
}
