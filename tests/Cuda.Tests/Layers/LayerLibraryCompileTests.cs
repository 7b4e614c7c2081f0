using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using ModelDsl.Cuda.Tests.Support;
using ModelDsl.Emit.Cuda;
using Xunit.Abstractions;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>
/// Every layer family compiles under NVRTC for Ampere and Hopper, in both activation storages (md_act = float, and
/// md_bf16 under <c>#define MD_ACT_BF16 1</c>, as a Bf16 session compiles its module), alone (after bf16.cuh, which every
/// module holds) and all together in one translation unit (as a model using several layers would paste them), each
/// kernel is an <c>.entry</c> of the PTX, and no kernel declares more than the 48 KiB of static shared memory a launch may use.
/// </summary>
public sealed class LayerLibraryCompileTests(ITestOutputHelper output)
{
    private const int StaticSharedLimit = 48 * 1024;

    public static TheoryData<LayerFamily, string, bool> FamiliesAndArchitectures()
    {
        var data = new TheoryData<LayerFamily, string, bool>();
        foreach (LayerFamily family in Enum.GetValues<LayerFamily>())
        {
            foreach (bool bf16 in new[] { false, true })
            {
                data.Add(family, "compute_80", bf16);
                data.Add(family, "compute_90", bf16);
            }
        }
        return data;
    }

    [NvrtcTheory]
    [MemberData(nameof(FamiliesAndArchitectures))]
    public void Each_family_compiles_to_ptx(LayerFamily family, string architecture, bool bf16Activations)
    {
        string source = LayerKernelFixture.ModuleSource(family, bf16Activations);
        string ptx = NvrtcCompiler.CompileToPtx(source, $"layers_{family}{(bf16Activations ? "_bf16" : "")}.cu", architecture);
        var kernels = KernelNames(CudaLayerLibrary.Source(family));
        Assert.NotEmpty(kernels);
        foreach (string kernel in kernels)
        {
            Assert.StartsWith("md_" + family.ToString().ToLowerInvariant() + "_", kernel);
            Assert.Contains($".entry {kernel}(", ptx);
            int shared = StaticSharedBytes(ptx, kernel);
            output.WriteLine($"{kernel}: {shared} bytes of static shared memory");
            Assert.True(shared <= StaticSharedLimit, $"{kernel} declares {shared} bytes of static shared memory (limit {StaticSharedLimit})");
        }
        Assert.Contains(".target sm_" + architecture.Substring("compute_".Length), ptx);
    }

    [NvrtcTheory]
    [InlineData("compute_80", false)]
    [InlineData("compute_90", false)]
    [InlineData("compute_90", true)]
    public void All_families_compile_together_in_one_module(string architecture, bool bf16Activations)
    {
        var families = Enum.GetValues<LayerFamily>(); // Bf16 first: md_act before every family that uses it
        string source = (bf16Activations ? "#define MD_ACT_BF16 1\n" : "") + CudaEmitter.PreludeText + string.Concat(families.Select(CudaLayerLibrary.Source));
        string ptx = NvrtcCompiler.CompileToPtx(source, "layers_all.cu", architecture);
        var kernels = families.SelectMany(f => KernelNames(CudaLayerLibrary.Source(f))).ToList();
        Assert.Equal(kernels.Count, kernels.Distinct().Count());
        foreach (string kernel in kernels) Assert.Contains($".entry {kernel}(", ptx);
        output.WriteLine($"{kernels.Count} kernels: {string.Join(", ", kernels)}");
    }

    [Fact]
    public void Every_family_has_a_source_and_every_kernel_a_header_comment()
    {
        foreach (LayerFamily family in Enum.GetValues<LayerFamily>())
        {
            string source = CudaLayerLibrary.Source(family);
            foreach (string kernel in KernelNames(source))
            {
                // The header comment names the kernel and its launch shape.
                Assert.Contains($"// {kernel}:", source);
                int header = source.IndexOf($"// {kernel}:", StringComparison.Ordinal);
                int body = source.IndexOf($") {kernel}(", StringComparison.Ordinal);
                Assert.True(header >= 0 && header < body, $"{kernel} has no header comment before its signature");
                Assert.Contains("launch:", source.Substring(header, body - header));
            }
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => CudaLayerLibrary.Source((LayerFamily)99));
    }

    internal static IReadOnlyList<string> KernelNames(string source) => KernelSignature.ParseAll(source).Select(k => k.Name).ToList();

    /// <summary>The bytes of the <c>.shared</c> arrays NVRTC declares for <paramref name="kernel"/> (function-scope __shared__ variables are module-scope PTX symbols whose mangled names contain the kernel's).</summary>
    private static int StaticSharedBytes(string ptx, string kernel)
    {
        int total = 0;
        foreach (Match match in Regex.Matches(ptx, @"\.shared\s+\.align\s+\d+\s+\.b(\d+)\s+(\S+)\[(\d+)\];"))
        {
            if (!match.Groups[2].Value.Contains(kernel, StringComparison.Ordinal)) continue;
            total += int.Parse(match.Groups[1].Value) / 8 * int.Parse(match.Groups[3].Value);
        }
        return total;
    }
}
