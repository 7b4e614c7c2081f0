using System;
using System.Collections.Generic;
using System.Linq;
using ModelDsl.Cuda.Layers;
using ModelDsl.Emit.Cuda;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>
/// One emulated context per test class, with each layer family's module (<see cref="CudaEmitter.PreludeText"/>, bf16.cuh,
/// then <see cref="CudaLayerLibrary.Source"/>) loaded on first use, in either activation storage (md_act = float, or
/// md_bf16 with <c>#define MD_ACT_BF16 1</c> first, as a Bf16 session compiles it), and a <see cref="LayerContext"/> for
/// the launchers; g++ builds each module once and caches it on disk by source hash.
/// </summary>
public sealed class LayerKernelFixture : IDisposable
{
    private readonly List<GpuModule> _modules = new();
    private readonly Dictionary<(string, bool), LayerContext> _layers = new();

    public LayerKernelFixture() => Context = GpuContext.OpenEmulated();

    public GpuContext Context { get; }

    /// <summary>
    /// The source a model's .cu would hold for <paramref name="family"/>: the shared prelude, bf16.cuh (md_act, pasted
    /// into every module), then the family's kernels; with <paramref name="bf16Activations"/> the first line is
    /// <c>#define MD_ACT_BF16 1</c> (md_act = md_bf16).
    /// </summary>
    public static string ModuleSource(LayerFamily family, bool bf16Activations = false) =>
        (bf16Activations ? "#define MD_ACT_BF16 1\n" : "") + CudaEmitter.PreludeText
        + (family == LayerFamily.Bf16 ? "" : CudaLayerLibrary.Source(LayerFamily.Bf16)) + CudaLayerLibrary.Source(family);

    /// <summary>
    /// The launchers' context for <paramref name="family"/>'s module (compiled on first use), as a model's GPU session
    /// makes one for its module: the tests call the same <c>ModelDsl.Cuda.Layers</c> launchers as the generated code.
    /// </summary>
    public LayerContext Layers(LayerFamily family, bool bf16Activations = false) => Layers(bf16Activations, family);

    /// <summary>The launchers' context for one module holding <paramref name="families"/> (after the prelude and bf16.cuh).</summary>
    public LayerContext Layers(bool bf16Activations, params LayerFamily[] families)
    {
        string key = string.Join("_", families).ToLowerInvariant();
        lock (_modules)
        {
            if (!_layers.TryGetValue((key, bf16Activations), out LayerContext? layers))
            {
                string source = families.Length == 1 ? ModuleSource(families[0], bf16Activations)
                    : (bf16Activations ? "#define MD_ACT_BF16 1\n" : "") + CudaEmitter.PreludeText + CudaLayerLibrary.Source(LayerFamily.Bf16)
                      + string.Concat(families.Select(CudaLayerLibrary.Source));
                GpuModule module = Context.LoadModule("layers_" + key + (bf16Activations ? "_bf16" : ""), source);
                _modules.Add(module);
                layers = new LayerContext(Context, module, bf16Activations ? 2 : 4);
                _layers.Add((key, bf16Activations), layers);
            }
            return layers;
        }
    }

    /// <summary>
    /// A device copy of activations <paramref name="values"/> in the storage of <paramref name="bf16"/>: floats, or BF16
    /// (2 bytes each, rounded to nearest even as the host rounds on upload).
    /// </summary>
    public DeviceVariable UploadActivations(float[] values, bool bf16)
    {
        if (!bf16) return Upload(values);
        DeviceVariable variable = Context.Allocate(Math.Max(1L, values.Length) * 2);
        var bits = new ushort[values.Length];
        for (int i = 0; i < values.Length; i++) bits[i] = BFloat16.Round(values[i]);
        variable.CopyFrom<ushort>(bits);
        return variable;
    }

    /// <summary>Zeroed device memory for <paramref name="count"/> activations (2 bytes each when <paramref name="bf16"/>).</summary>
    public DeviceVariable ActivationZeros(long count, bool bf16) => Context.Allocate(Math.Max(1L, count) * (bf16 ? 2 : 4));

    /// <summary><paramref name="count"/> activations read back as floats (BF16 widened exactly).</summary>
    public float[] DownloadActivations(DeviceVariable variable, long count, bool bf16)
    {
        if (!bf16) return Download<float>(variable, count);
        var bits = new ushort[count];
        variable.CopyTo<ushort>(bits);
        var values = new float[count];
        for (long i = 0; i < count; i++) values[i] = BFloat16.Widen(bits[i]);
        return values;
    }

    /// <summary>A device copy of <paramref name="values"/>.</summary>
    public DeviceVariable Upload<T>(T[] values) where T : unmanaged
    {
        DeviceVariable variable = Context.Allocate(Math.Max(1L, values.Length) * 4);
        variable.CopyFrom<T>(values);
        return variable;
    }

    /// <summary>Zeroed device memory for <paramref name="count"/> floats (or ints).</summary>
    public DeviceVariable Zeros(long count) => Context.Allocate(Math.Max(1L, count) * 4);

    public T[] Download<T>(DeviceVariable variable, long count = -1) where T : unmanaged
    {
        var values = new T[count < 0 ? variable.Length : count];
        variable.CopyTo<T>(values);
        return values;
    }

    public float[] Download(DeviceVariable variable, long count = -1) => Download<float>(variable, count);

    public void Dispose()
    {
        foreach (GpuModule module in _modules) module.Dispose();
        Context.Dispose();
    }
}
