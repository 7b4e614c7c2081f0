using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace ModelDsl.Cuda.Layers;

/// <summary>
/// The <c>&lt;gpu context&gt;</c> every launcher in <c>ModelDsl.Cuda.Layers</c> takes first: a device (its cuBLAS does
/// the layers' matrix products) and the module whose source holds the layer library's kernels (a generated model's
/// <c>CudaSource</c> pastes the families it uses). A model's GPU session makes one; kernels are looked up on first use
/// and kept, so a launch allocates nothing.
/// </summary>
public sealed class LayerContext
{
    private readonly Dictionary<string, LayerKernel> _kernels = new(StringComparer.Ordinal);

    public LayerContext(GpuContext context, GpuModule module)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(module);
        Context = context;
        Module = module;
    }

    /// <summary>The device: <see cref="GpuContext.Sgemm"/> and <see cref="GpuContext.SgemmStridedBatched"/> run the layers' GEMMs.</summary>
    public GpuContext Context { get; }

    public GpuModule Module { get; }

    /// <summary>Library kernel <paramref name="name"/> of <see cref="Module"/>, with its signature for checking launches.</summary>
    public LayerKernel Kernel(string name)
    {
        if (!_kernels.TryGetValue(name, out var kernel))
        {
            var signature = LayerKernels.Signature(name); // first: a name outside the library is the launcher's mistake, not the module's
            kernel = new LayerKernel(Module.GetKernel(name), signature);
            _kernels.Add(name, kernel);
        }
        return kernel;
    }

    /// <summary>The library kernels launched through this context so far, for tests that every one is covered.</summary>
    public IEnumerable<string> LaunchedKernels => _kernels.Values.Where(k => k.Launches > 0).Select(k => k.Name);
}
