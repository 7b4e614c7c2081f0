using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using ModelDsl.Emit.Cuda;
using ModelDsl.Plan;

namespace ModelDsl.Cuda.Tests.Generated;

/// <summary>
/// The CUDA emitter binds every layer library kernel's arguments itself (CudaEmitter.Layers.cs), by the library's
/// parameter names; these tests hold those bindings to the library's declarations, and the modules to the families
/// their plans use, for every example model.
/// </summary>
public sealed class LayerLaunchTests
{
    private static readonly Regex Kernel = new(@"extern ""C"" __global__ void __launch_bounds__\(256\) (\w+)\(([^)]*)\)", RegexOptions.Compiled);

    [Fact]
    public void Every_layer_launch_passes_the_library_kernels_parameters_in_order_with_their_types()
    {
        var declared = new Dictionary<string, (string Type, string Name)[]>();
        foreach (LayerFamily family in Enum.GetValues<LayerFamily>())
        {
            foreach (Match m in Kernel.Matches(CudaLayerLibrary.Source(family)))
            {
                declared[m.Groups[1].Value] = m.Groups[2].Value.Split(',').Select(p => Parameter(p)).ToArray();
            }
        }

        int checkedLaunches = 0;
        foreach (var (model, module) in ExampleModels.CudaModules(out _))
        {
            foreach (var (kernel, launches) in module.LayerLaunches)
            {
                foreach (CudaLaunch launch in launches)
                {
                    Assert.True(declared.TryGetValue(launch.Name, out var parameters), $"{model} {kernel.Name}: {launch.Name} is not a library kernel");
                    var bound = launch.Arguments.Select(a => (Normalize(a.CType), a.Name)).ToArray();
                    Assert.Equal(parameters!.Select(p => (Normalize(p.Type), p.Name)).ToArray(), bound);
                    checkedLaunches++;
                }
            }
        }
        Assert.True(checkedLaunches > 40, $"only {checkedLaunches} layer launches were checked");
    }

    [Fact]
    public void A_module_holds_each_layer_family_its_plan_uses_once_after_the_prelude()
    {
        foreach (var (model, module) in ExampleModels.CudaModules(out _))
        {
            var families = module.LayerLaunches.Keys.Select(CudaEmitter.FamilyOf).OfType<LayerFamily>().Distinct().ToList();
            int prelude = module.Source.IndexOf(CudaEmitter.PreludeText.TrimEnd('\n'), StringComparison.Ordinal);
            Assert.True(prelude >= 0, model + ": no prelude");
            foreach (LayerFamily family in Enum.GetValues<LayerFamily>())
            {
                string first = CudaLayerLibrary.Source(family).Split('\n')[0];
                int count = Regex.Matches(module.Source, Regex.Escape(first)).Count;
                Assert.True(count == (families.Contains(family) ? 1 : 0), $"{model}: {family} appears {count} times");
                if (count == 1)
                {
                    int at = module.Source.IndexOf(first, StringComparison.Ordinal);
                    Assert.True(at > prelude, $"{model}: {family} comes before the prelude");
                    // Right before it, the .model lines that use it, like every generated kernel.
                    string header = $"// {family}, used by:\n", before = module.Source[..at];
                    int usedBy = before.LastIndexOf(header, StringComparison.Ordinal);
                    Assert.True(usedBy >= 0, $"{model}: {family} has no 'used by' comment");
                    Assert.Matches(@"^(//   \w+\.model:\d+  .+\n)+$", before[(usedBy + header.Length)..]);
                }
            }
        }
    }

    [Fact]
    public void The_layer_models_get_working_memory_sized_by_the_library()
    {
        var modules = ExampleModels.CudaModules(out _).ToDictionary(m => m.Model, m => m.Module);
        // conv2d: every image's columns, B·C·k·k·H'·W', then (trained) each image's weight gradient B·K·C·k·k and B ones;
        // lstm: the CPU layout, 6·B·T·H + 2·B·H; attention: lse and delta.
        Assert.Equal(new[] { "7056*B", "288*B", "B" }, Lengths(modules["FashionCnn"]).First());
        Assert.Equal(new[] { "56448*B", "18432*B", "B" }, Lengths(modules["FashionCnn"]).Last());
        Assert.All(modules["FashionCnn"].Workspaces.Values, w => Assert.True(w.EndsWithOnes));
        Assert.Equal(new[] { "768*B*T", "256*B" }, Lengths(modules["FortuneLstm"]).Single());
        Assert.All(Lengths(modules["CharGpt"]), l => Assert.Equal(new[] { "8*B*T" }, l));
    }

    [Theory]
    [InlineData(128, true)]
    [InlineData(256, false)]
    public void A_model_whose_attention_heads_exceed_the_librarys_head_dim_gets_no_cuda_rendering(int headDim, bool rendered)
    {
        // One head of headDim: the attention kernels stage a head's rows in static shared memory, 128 floats at most.
        string text = $$"""
            model Wide {
                input x: f32[B, T, {{headDim}}]
                label y: f32[B, T, {{headDim}}]
                h = x -> attention(1, causal=true)
                output h
                loss mse(h, y)
                optimizer sgd(lr=0.1)
            }
            """;
        var result = ModelDsl.Compilation.Compile("wide.model", text);
        Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
        var plan = ModelDsl.Autodiff.PlanBuilder.TryBuild(result.Models.Single(), out _);
        Assert.NotNull(plan);
        Assert.Equal(rendered, CudaEmitter.TryEmit(plan!, result.Text) is not null);
    }

    private static IEnumerable<string[]> Lengths(CudaModule module) =>
        module.Workspaces.Values.Select(w => w.Length.Select(d => d.ToExpression().Replace(" ", "")).ToArray());

    private static (string Type, string Name) Parameter(string declaration)
    {
        string text = declaration.Trim();
        int split = text.LastIndexOfAny([' ', '*']);
        return (text[..(split + 1)], text[(split + 1)..]);
    }

    private static string Normalize(string type) => Regex.Replace(type.Replace("__restrict__", ""), @"\s+", "");
}
