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
/// <remarks>
/// Activations (the values of the model graph: a kernel's <c>md_act</c> pointers, bf16.cuh) are stored in
/// <see cref="ActivationBytes"/> bytes each: 4 (float) for a module compiled as it is, 2 (BF16) for one compiled with
/// <c>#define MD_ACT_BF16 1</c> first (a Bf16 session). A launcher that offsets an activation pointer uses
/// <see cref="Activation"/>; parameters, gradients, statistics and working memory stay float (<see cref="DevicePointer.Plus"/>).
/// </remarks>
public sealed class LayerContext
{
    private readonly Dictionary<string, LayerKernel> _kernels = new(StringComparer.Ordinal);

    /// <param name="context">The device.</param>
    /// <param name="module">The module holding the library's kernels.</param>
    /// <param name="activationBytes">4 when <paramref name="module"/> was compiled with md_act = float, 2 when with
    /// <c>MD_ACT_BF16</c> (md_act = md_bf16): the bytes of one activation element.</param>
    public LayerContext(GpuContext context, GpuModule module, int activationBytes = 4)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(module);
        if (activationBytes is not (4 or 2))
            throw new ArgumentOutOfRangeException(nameof(activationBytes), activationBytes, "an activation is 4 bytes (float) or 2 (BF16)");
        Context = context;
        Module = module;
        ActivationBytes = activationBytes;
    }

    /// <summary>The device: <see cref="GpuContext.Sgemm"/> and <see cref="GpuContext.SgemmStridedBatched"/> run the layers' GEMMs.</summary>
    public GpuContext Context { get; }

    public GpuModule Module { get; }

    /// <summary>Bytes of one activation element (md_act): 4 (float) or 2 (BF16, a module compiled with <c>MD_ACT_BF16</c>).</summary>
    public int ActivationBytes { get; }

    /// <summary>True when activations are BF16 (<see cref="ActivationBytes"/> = 2).</summary>
    public bool Bf16Activations => ActivationBytes == 2;

    /// <summary><paramref name="pointer"/> into an activation, moved on by <paramref name="elements"/> md_act elements.</summary>
    public DevicePointer Activation(DevicePointer pointer, long elements) =>
        Bf16Activations ? pointer.PlusBf16(elements) : pointer.Plus(elements);

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
