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
    /// <summary>The library's files, in the order a module holding all of them would paste them (bf16.cuh first: it declares the BF16 storage type the others may use).</summary>
    public static IReadOnlyList<string> Files { get; } =
        new[] { "bf16.cuh", "layernorm.cuh", "softmax.cuh", "embedding.cuh", "positional.cuh", "pool2d.cuh", "globalpool2d.cuh", "permute.cuh", "narrow.cuh", "reduce.cuh", "conv2d.cuh", "lstm.cuh", "gru.cuh", "attention.cuh", "concat.cuh", "sequence.cuh", "batchnorm.cuh", "flashattention.cuh" };

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
