using System;
using System.Collections.Generic;
using ModelDsl.Emit.Cuda;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>
/// One emulated context per test class, with each layer family's module (<see cref="CudaEmitter.PreludeText"/> +
/// <see cref="CudaLayerLibrary.Source"/>) loaded on first use; g++ builds each module once and caches it on disk by
/// source hash.
/// </summary>
public sealed class LayerKernelFixture : IDisposable
{
    private readonly Dictionary<LayerFamily, GpuModule> _modules = new();

    public LayerKernelFixture() => Context = GpuContext.OpenEmulated();

    public GpuContext Context { get; }

    /// <summary>The source a model's .cu would hold for <paramref name="family"/>: the shared prelude, then the family's kernels.</summary>
    public static string ModuleSource(LayerFamily family) => CudaEmitter.PreludeText + CudaLayerLibrary.Source(family);

    public GpuKernel Kernel(LayerFamily family, string name)
    {
        lock (_modules)
        {
            if (!_modules.TryGetValue(family, out GpuModule? module))
            {
                module = Context.LoadModule("layers_" + family.ToString().ToLowerInvariant(), ModuleSource(family));
                _modules.Add(family, module);
            }
            return module.GetKernel(name);
        }
    }

    /// <summary>Launches and waits, so a fault names this launch.</summary>
    public void Launch(LayerFamily family, string name, Dim3 grid, Dim3 block, ref KernelArguments arguments)
    {
        Kernel(family, name).Launch(grid, block, ref arguments);
        Context.Synchronize();
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
        foreach (GpuModule module in _modules.Values) module.Dispose();
        Context.Dispose();
    }
}
