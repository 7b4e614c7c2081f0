using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace ModelDsl.Cuda.Layers;

/// <summary>
/// The CUDA layer library as ModelDsl.Cuda carries it: the files <c>Cuda/Kernels/*.cuh</c> (embedded; the generator
/// embeds the same files and pastes the ones a model uses into its .cu) and the kernel signatures parsed from them,
/// against which <see cref="LayerKernel"/> checks every launch.
/// </summary>
public static class LayerKernels
{
    /// <summary>The library's files, in the order a module holding all of them would paste them.</summary>
    public static IReadOnlyList<string> Files { get; } =
        new[] { "layernorm.cuh", "softmax.cuh", "embedding.cuh", "positional.cuh", "pool2d.cuh", "conv2d.cuh", "lstm.cuh", "attention.cuh", "concat.cuh" };

    private static readonly Lazy<IReadOnlyDictionary<string, KernelSignature>> Parsed = new(ParseLibrary);

    /// <summary>The text of library file <paramref name="file"/> (<c>conv2d.cuh</c>), with \n line ends.</summary>
    public static string Source(string file)
    {
        string resource = "ModelDsl.Cuda.Kernels." + file;
        using Stream stream = typeof(LayerKernels).Assembly.GetManifestResourceStream(resource)
            ?? throw new ArgumentException($"{file} is not a file of the layer library ({string.Join(", ", Files)})", nameof(file));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd().Replace("\r\n", "\n");
    }

    /// <summary>Every library kernel's signature, by name.</summary>
    public static IReadOnlyDictionary<string, KernelSignature> Signatures => Parsed.Value;

    /// <summary>The signature of library kernel <paramref name="name"/>; throws naming the files when there is none.</summary>
    public static KernelSignature Signature(string name) =>
        Parsed.Value.TryGetValue(name, out var signature)
            ? signature
            : throw new ArgumentException($"{name} is not a kernel of the layer library (Cuda/Kernels/*.cuh)", nameof(name));

    private static IReadOnlyDictionary<string, KernelSignature> ParseLibrary()
    {
        var all = new Dictionary<string, KernelSignature>(StringComparer.Ordinal);
        foreach (string file in Files)
        {
            foreach (var kernel in KernelSignature.ParseAll(Source(file), file))
            {
                if (!all.TryAdd(kernel.Name, kernel)) throw new FormatException($"{file}: kernel {kernel.Name} is declared in two library files");
            }
        }
        return all;
    }
}

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
            kernel = new LayerKernel(Module.GetKernel(name), LayerKernels.Signature(name));
            _kernels.Add(name, kernel);
        }
        return kernel;
    }

    /// <summary>The library kernels launched through this context so far, for tests that every one is covered.</summary>
    public IEnumerable<string> LaunchedKernels => _kernels.Values.Where(k => k.Launches > 0).Select(k => k.Name);
}

/// <summary>One library kernel and its parsed signature: <see cref="Arguments"/> starts a launch that is checked, argument by argument, against it.</summary>
public sealed class LayerKernel
{
    private readonly GpuKernel _kernel;

    internal LayerKernel(GpuKernel kernel, KernelSignature signature)
    {
        _kernel = kernel;
        Signature = signature;
    }

    public string Name => Signature.Name;

    public KernelSignature Signature { get; }

    /// <summary>How many times it was launched.</summary>
    public long Launches { get; private set; }

    /// <summary>An empty argument list for this kernel.</summary>
    public LayerArguments Arguments() => new(Signature);

    /// <summary>Launches with <paramref name="arguments"/>, which must supply every parameter.</summary>
    public void Launch(Dim3 grid, Dim3 block, ref LayerArguments arguments)
    {
        if (!ReferenceEquals(arguments.Signature, Signature))
            throw new InvalidOperationException($"{Name}: the arguments were built for {arguments.Signature?.Name ?? "no kernel"}");
        if (arguments.Count != Signature.Parameters.Count)
            throw new InvalidOperationException($"{Name}: launched with {arguments.Count} of its {Signature.Parameters.Count} arguments; the next is {Signature.Parameters[arguments.Count]}");
        _kernel.Launch(grid, block, ref arguments.Values);
        Launches++;
    }
}

/// <summary>
/// A library kernel's arguments, checked as they are added: each must be the next parameter of the kernel's parsed
/// signature, by name and type (<c>int</c>, <c>float</c>, <c>const float*</c>, <c>float*</c>, <c>const int*</c>,
/// <c>int*</c>). A mismatch throws naming the kernel, the position, the parameter and what was passed. On the stack:
/// building and launching allocate nothing.
/// </summary>
public struct LayerArguments
{
    internal KernelArguments Values;

    internal LayerArguments(KernelSignature signature)
    {
        Signature = signature;
        Values = default;
    }

    internal KernelSignature? Signature { get; }

    public readonly int Count => Values.Count;

    /// <summary>An <c>int</c> parameter.</summary>
    public void Int(string name, int value)
    {
        Check(name, "int");
        Values.Add(value);
    }

    /// <summary>An <c>int</c> flag (<c>accumulate</c>, <c>causal</c>): 1 or 0.</summary>
    public void Flag(string name, bool value)
    {
        Check(name, "int");
        Values.Add(value ? 1 : 0);
    }

    /// <summary>A <c>float</c> parameter.</summary>
    public void Float(string name, float value)
    {
        Check(name, "float");
        Values.Add(value);
    }

    /// <summary>A <c>const float*</c> parameter.</summary>
    public void Reads(string name, DevicePointer pointer)
    {
        Check(name, "const float*");
        Values.Add(pointer);
    }

    /// <summary>A <c>float*</c> parameter.</summary>
    public void Writes(string name, DevicePointer pointer)
    {
        Check(name, "float*");
        Values.Add(pointer);
    }

    /// <summary>A <c>const int*</c> parameter (ids, pool indices).</summary>
    public void ReadsInts(string name, DevicePointer pointer)
    {
        Check(name, "const int*");
        Values.Add(pointer);
    }

    /// <summary>An <c>int*</c> parameter.</summary>
    public void WritesInts(string name, DevicePointer pointer)
    {
        Check(name, "int*");
        Values.Add(pointer);
    }

    private readonly void Check(string name, string type)
    {
        var signature = Signature ?? throw new InvalidOperationException("LayerArguments must come from LayerKernel.Arguments()");
        int at = Values.Count;
        if (at >= signature.Parameters.Count)
            throw new InvalidOperationException($"{signature.Name}: takes {signature.Parameters.Count} arguments, but a launcher adds '{type} {name}' after them");
        var expected = signature.Parameters[at];
        if (!string.Equals(expected.Name, name, StringComparison.Ordinal) || !string.Equals(expected.Type, type, StringComparison.Ordinal))
            throw new InvalidOperationException($"{signature.Name}: argument {at + 1} is '{expected}' in its declaration, but a launcher passes '{type} {name}'");
    }
}
