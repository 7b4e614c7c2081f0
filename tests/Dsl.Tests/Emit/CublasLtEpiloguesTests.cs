using System.Linq;
using ModelDsl.Emit.Cuda;
using ModelDsl.Plan;

namespace ModelDsl.Dsl.Tests.Emit
{
    /// <summary>
    /// Which GEMMs the CUDA emitter hands to cuBLASLt with an epilogue (docs/cuda.md, "GEMM epilogues"), and which keep
    /// their elementwise kernel: every pattern is matched exactly, everything else falls back.
    /// </summary>
    public class CublasLtEpiloguesTests
    {
        private static CudaModule Module(string body, out TrainingPlan plan)
        {
            var result = Compilation.Compile("m.model", "model M {\n" + body + "\n}\n");
            Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics.Select(d => d.Format(result.Text))));
            var compiled = Assert.Single(result.Compiled);
            plan = compiled.Plan!;
            return compiled.Cuda!;
        }

        /// <summary>"kind: gemm → replaced kernel" for every epilogue, in plan order of the GEMMs.</summary>
        private static string[] Epilogues(CudaModule module, TrainingPlan plan) =>
            plan.Forward.Concat(plan.Backward).OfType<GemmKernel>().Where(module.Epilogues.ContainsKey)
                .Select(g => $"{module.Epilogues[g].Kind}: {g.Name} → {module.Epilogues[g].Replaces.Name}").ToArray();

        [Fact]
        public void Dense_tanh_gelu_and_a_plain_dense_use_all_four_epilogues()
        {
            var module = Module("""
                input x: f32[B, 19]
                label y: i32[B]
                logits = x -> dense(48) -> gelu(approximate="tanh") -> dense(7)
                output logits
                loss cross_entropy(logits, y)
                optimizer sgd(lr=0.1)
                """, out var plan);

            Assert.Equal(new[]
            {
                "GeluAuxBias: fwd_0_dense → fwd_1_dense_gelu",
                "Bias: fwd_2_dense → fwd_3_dense",
                "BiasGradientOfA: bwd_6_dense_dW → bwd_5_dense",
                "GeluGradientBiasGradient: bwd_7_dense_dX → bwd_8_gelu_dense",
            }, Epilogues(module, plan));
            var dgelu = module.Epilogues.Values.Distinct().Single(e => e.Kind == EpilogueKind.GeluGradientBiasGradient);
            Assert.Equal("d_logits_1", dgelu.Unwritten!.Name); // the gradient at the GELU's output is never stored
            Assert.True(module.IsUnwritten(dgelu.Unwritten));
            Assert.DoesNotContain("void __launch_bounds__(256) fwd_1_dense_gelu(", module.Source);
            Assert.Contains("// fwd_1_dense_gelu: no kernel: cuBLASLt's GELU_AUX_BIAS epilogue on fwd_0_dense's product computes", module.Source);
        }

        [Theory]
        [InlineData("x -> dense(48) -> gelu -> dense(7)", "the erf GELU (cuBLASLt's is the tanh form)")]
        [InlineData("x -> dense(12) -> gelu(approximate=\"tanh\") -> dense(7)", "12 wide: not a multiple of 8")]
        [InlineData("x -> dense(48) -> dropout(0.1) -> gelu(approximate=\"tanh\") -> dense(7)", "dropout between the dense and the GELU")]
        [InlineData("x -> dense(48) -> relu -> dense(7)", "ReLU")]
        public void A_hidden_layer_the_epilogues_cannot_express_keeps_its_kernels(string chain, string why)
        {
            var module = Module($"""
                input x: f32[B, 19]
                label y: i32[B]
                logits = {chain}
                output logits
                loss cross_entropy(logits, y)
                optimizer sgd(lr=0.1)
                """, out var plan);

            // Only the last dense (bias alone, forward and backward) gets epilogues.
            var kinds = module.Epilogues.Values.Distinct().Select(e => e.Kind).OrderBy(k => k).ToArray();
            Assert.True(new[] { EpilogueKind.Bias, EpilogueKind.BiasGradientOfA }.SequenceEqual(kinds), why + ": " + string.Join(", ", Epilogues(module, plan)));
        }

        [Fact]
        public void A_residual_add_after_the_dense_keeps_the_kernel()
        {
            var module = Module("""
                input x: f32[B, 16]
                label y: f32[B, 16]
                h = x -> dense(16)
                out = h + x
                output out
                loss mse(out, y)
                optimizer sgd(lr=0.1)
                """, out var plan);

            Assert.DoesNotContain(module.Epilogues.Values, e => e.Kind == EpilogueKind.Bias);
        }
    }
}
