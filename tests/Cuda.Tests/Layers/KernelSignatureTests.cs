using System;
using System.Linq;
using System.Text.RegularExpressions;
using ModelDsl.Cuda.Layers;
using ModelDsl.Emit.Cuda;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>The kernel-signature parser, and the layer library's .cuh files as it reads them.</summary>
public sealed class KernelSignatureTests
{
    [Fact]
    public void A_declaration_gives_the_name_and_normalised_parameters_in_order()
    {
        var kernel = KernelSignature.Parse("""
            extern "C" __global__ void __launch_bounds__(256) md_demo_forward(
                int rows, unsigned int seed, float eps, const float* __restrict__ x,
                float *y, const int* __restrict__ ids, int* indices)
            {
                y[0] = x[0];
            }
            """);
        Assert.Equal("md_demo_forward", kernel.Name);
        Assert.Equal(
            new[] { "int rows", "unsigned int seed", "float eps", "const float* x", "float* y", "const int* ids", "int* indices" },
            kernel.Parameters.Select(p => p.ToString()));
        Assert.True(kernel.Parameters[3].IsReadOnly);
        Assert.True(kernel.Parameters[4].IsPointer && !kernel.Parameters[4].IsReadOnly);
        Assert.False(kernel.Parameters[0].IsPointer);
        Assert.Equal(5, kernel.IndexOf("ids"));
        Assert.Equal(-1, kernel.IndexOf("missing"));
    }

    [Fact]
    public void Comments_device_functions_and_empty_lists_are_handled()
    {
        var kernels = KernelSignature.ParseAll("""
            // extern "C" __global__ void commented_out(int n)
            /* extern "C" __global__ void also_commented(int n) */
            __device__ float helper(float x) { return x; }
            extern "C" __global__ void first(void) {}
            extern "C" __global__ void second(int n /* the count */, float* out) {} // trailing
            """);
        Assert.Equal(new[] { "first", "second" }, kernels.Select(k => k.Name));
        Assert.Empty(kernels[0].Parameters);
        Assert.Equal(new[] { "int n", "float* out" }, kernels[1].Parameters.Select(p => p.ToString()));
    }

    [Theory]
    [InlineData("__global__ void mangled(int n) {}", "source:1: a __global__ function that is not")]
    [InlineData("extern \"C\" __global__ int wrong_return(int n) {}", "source:1: a __global__ function that is not")]
    [InlineData("\nextern \"C\" __global__ void arrays(float x[4]) {}", "source:2: arrays: parameter 'float x[4]' is not")]
    [InlineData("extern \"C\" __global__ void defaults(int n = 1) {}", "defaults: parameter 'int n = 1' is not")]
    [InlineData("extern \"C\" __global__ void unnamed(float*) {}", "unnamed: parameter 'float*' has no type or no name")]
    [InlineData("extern \"C\" __global__ void twice(int n, int n) {}", "twice: two parameters are named n")]
    [InlineData("extern \"C\" __global__ void k(int n) {}\nextern \"C\" __global__ void k(int m) {}", "source:2: kernel k is declared twice")]
    public void What_the_parser_does_not_understand_is_an_error_with_its_line(string source, string message)
    {
        var error = Assert.Throws<FormatException>(() => KernelSignature.ParseAll(source));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Every_library_file_parses_and_its_kernels_carry_the_family_prefix()
    {
        int total = 0;
        foreach (LayerFamily family in Enum.GetValues<LayerFamily>())
        {
            var kernels = KernelSignature.ParseAll(CudaLayerLibrary.Source(family), CudaLayerLibrary.FileName(family));
            Assert.NotEmpty(kernels);
            foreach (var kernel in kernels)
            {
                Assert.StartsWith("md_" + family.ToString().ToLowerInvariant() + "_", kernel.Name);
                Assert.NotEmpty(kernel.Parameters);
            }
            total += kernels.Count;
        }
        Assert.Equal(55, total);
    }

    [Fact]
    public void The_generators_copy_and_the_runtimes_copy_of_the_library_are_the_same_files()
    {
        foreach (LayerFamily family in Enum.GetValues<LayerFamily>())
            Assert.Equal(CudaLayerLibrary.Source(family), LayerKernels.Source(CudaLayerLibrary.FileName(family)));
    }

    [Fact]
    public void The_attention_head_limit_is_the_one_the_kernels_are_compiled_with()
    {
        var define = Regex.Match(CudaLayerLibrary.Source(LayerFamily.Attention), @"#define MD_ATTENTION_MAX_HEAD_DIM (\d+)");
        Assert.True(define.Success);
        Assert.Equal(CudaLayerLibrary.AttentionMaxHeadDim, int.Parse(define.Groups[1].Value));
    }
}
