using System.Linq;
using System.Text.RegularExpressions;
using ModelDsl.Cuda.Tests.Support;

namespace ModelDsl.Cuda.Tests.Generated;

/// <summary>
/// Every kernel the generator writes for the example models compiles under NVRTC for Ampere and Hopper. Runs in CI,
/// which installs NVRTC (libnvrtc11.2 from Debian non-free) and fails these tests rather than skipping them without it.
/// </summary>
public sealed class GeneratedKernelsCompileTests
{
    [NvrtcTheory]
    [InlineData("compute_80")]
    [InlineData("compute_90")]
    public void Every_generated_kernel_of_every_example_compiles_to_ptx(string architecture)
    {
        var modules = ExampleModels.CudaModules(out var without);
        // Every example and parity model, the layer models included: an empty list would make this test pass vacuously.
        Assert.Empty(without);
        foreach (string name in new[] { "FashionMlp", "BinaryClassifier", "FashionCnn", "FortuneLstm", "CharGpt" }) Assert.Contains(modules, m => m.Model == name);
        Assert.True(modules.Count >= 7, "expected at least 7 models with generated CUDA, found " + modules.Count);

        foreach (var (model, module) in modules)
        {
            string ptx = NvrtcCompiler.CompileToPtx(module.Source, model + ".cu", architecture);
            var kernels = Regex.Matches(module.Source, @"extern ""C"" __global__ void __launch_bounds__\(\d+\) (\w+)\(").Select(m => m.Groups[1].Value).ToList();
            Assert.NotEmpty(kernels);
            foreach (var kernel in kernels) Assert.Contains($".entry {kernel}(", ptx);
            Assert.Contains(".target sm_" + architecture.Substring("compute_".Length), ptx);
        }
    }

    // The text a Bf16 session compiles (md_act = md_bf16) for every model whose Bf16 session stores activations in BF16
    // (CudaModule.Bf16Activations): every kernel still compiles, and the activation parameters are 2-byte pointers.
    [NvrtcTheory]
    [InlineData("compute_80")]
    [InlineData("compute_90")]
    public void The_bf16_activation_compilation_of_every_bf16_model_compiles_to_ptx(string architecture)
    {
        var modules = ExampleModels.CudaModules(out _).Where(m => m.Module.Bf16Activations).ToList();
        Assert.Contains(modules, m => m.Model == "ParityMlpBf16"); // a bf16 model without layer families always stores BF16
        Assert.Contains(modules, m => m.Model == "ParityGptBf16"); // embedding, positional, layer norm, attention: md_act
        foreach (var (model, module) in modules)
        {
            string ptx = NvrtcCompiler.CompileToPtx(ModelDsl.Emit.Cuda.CudaModule.Bf16ActivationsDefine + "\n" + module.Source, model + "_bf16.cu", architecture);
            var kernels = Regex.Matches(module.Source, @"extern ""C"" __global__ void __launch_bounds__\(\d+\) (\w+)\(").Select(m => m.Groups[1].Value).ToList();
            foreach (var kernel in kernels) Assert.Contains($".entry {kernel}(", ptx);
            Assert.Contains("ld.global.u16", ptx); // BF16 activations are read as 16-bit values
        }
    }

    [NvrtcFact]
    public void A_broken_generated_source_names_the_model_file_and_the_line()
    {
        var (model, module) = ExampleModels.CudaModules(out _).First(m => m.Model == "FashionMlp");
        string broken = module.Source.Replace("md_relu(v2)", "md_relu(v2, undefined_name)");
        var error = Assert.Throws<CudaException>(() => NvrtcCompiler.CompileToPtx(broken, model + ".cu", "compute_80"));
        Assert.Contains("FashionMlp.cu", error.Message);
        Assert.Contains("undefined_name", error.Message);
    }
}
