using System;
using System.Collections.Generic;
using ModelDsl.Cuda.Layers;
using ModelDsl.Emit.Cuda;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>
/// One emulated context per test class, with each layer family's module (<see cref="CudaEmitter.PreludeText"/> +
/// <see cref="CudaLayerLibrary.Source"/>) loaded on first use and a <see cref="LayerContext"/> for the launchers; g++
/// builds each module once and caches it on disk by source hash.
/// </summary>
public sealed class LayerKernelFixture : IDisposable
{
    private readonly List<GpuModule> _modules = new();
    private readonly Dictionary<LayerFamily, LayerContext> _layers = new();

    public LayerKernelFixture() => Context = GpuContext.OpenEmulated();

    public GpuContext Context { get; }

    /// <summary>The source a model's .cu would hold for <paramref name="family"/>: the shared prelude, then the family's kernels.</summary>
    public static string ModuleSource(LayerFamily family) => CudaEmitter.PreludeText + CudaLayerLibrary.Source(family);

    /// <summary>
    /// The launchers' context for <paramref name="family"/>'s module (compiled on first use), as a model's GPU session
    /// makes one for its module: the tests call the same <c>ModelDsl.Cuda.Layers</c> launchers as the generated code.
    /// </summary>
    public LayerContext Layers(LayerFamily family)
    {
        lock (_modules)
        {
            if (!_layers.TryGetValue(family, out LayerContext? layers))
            {
                GpuModule module = Context.LoadModule("layers_" + family.ToString().ToLowerInvariant(), ModuleSource(family));
                _modules.Add(module);
                layers = new LayerContext(Context, module);
                _layers.Add(family, layers);
            }
            return layers;
        }
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
