using System.Linq;
using ModelDsl.Dsl.Tests.Support;
using ModelDsl.IR;
using static ModelDsl.Dsl.Tests.Binding.TrainingControlTests;

namespace ModelDsl.Dsl.Tests.Binding
{
    /// <summary><c>precision fp32|tf32|bf16</c>: how it parses and binds, and its diagnostics (MDL0125, MDL0327).</summary>
    public class PrecisionTests
    {
        [Fact]
        public void Without_a_statement_the_precision_is_fp32()
        {
            var precision = Check(WithControls("")).Precision;
            Assert.Same(PrecisionInfo.Default, precision);
            Assert.Equal(Precision.Fp32, precision.Mode);
        }

        [Theory]
        [InlineData("fp32", Precision.Fp32)]
        [InlineData("tf32", Precision.Tf32)]
        [InlineData("bf16", Precision.Bf16)]
        public void Each_mode_binds(string word, Precision mode)
        {
            var text = WithControls("    precision " + word);
            var precision = Check(text).Precision;
            Assert.Equal(mode, precision.Mode);
            Assert.Equal(word, precision.Describe());
            Assert.Equal("precision " + word, text.Substring(precision.Span.Start, precision.Span.Length));
        }

        [Fact]
        public void Precision_is_not_reserved()
        {
            var graph = Check(WithControls("    precision bf16", "    precision = x -> dense(hidden) -> relu\n    logits = precision -> dense(classes)"));
            Assert.Equal(Precision.Bf16, graph.Precision.Mode);
        }

        [Fact]
        public void MDL0125_an_unknown_precision_suggests_the_closest()
        {
            var d = AnnotatedText.AssertDiagnostics(WithControls("    precision ⟦bf61⟧"), "MDL0125");
            Assert.Contains("'bf61' is not a precision; did you mean 'bf16'? (precisions: fp32, tf32, bf16)", d[0].Message);
            d = AnnotatedText.AssertDiagnostics(WithControls("    precision ⟦fp16⟧"), "MDL0125");
            Assert.Equal("'fp16' is not a precision; did you mean 'fp32'? (precisions: fp32, tf32, bf16)", d[0].Message);
        }

        [Fact]
        public void Precision_twice_or_in_a_block_is_an_error_at_the_statement()
        {
            AnnotatedText.AssertDiagnostics(WithControls("    precision bf16\n    ⟦precision tf32⟧"), "MDL0204");
            AnnotatedText.AssertDiagnostics(
                "block B(x) {\n    ⟦precision bf16⟧\n    return x -> relu\n}\n" + WithControls("", "    h = x -> dense(hidden) -> B()\n    logits = h -> dense(classes)"),
                "MDL0210");
        }

        [Fact]
        public void MDL0327_a_layer_whose_products_stay_fp32_in_a_bf16_model_is_a_warning_at_the_op()
        {
            string text = """
                model M {
                    input x: f32[B, T, 8]
                    label y: f32[B, 4]
                    h = x -> ⟦lstm(16)⟧
                    logits = h -> dense(4)
                    output logits
                    loss mse(logits, y)
                    optimizer adamw()
                    precision bf16
                }
                """;
            var d = AnnotatedText.AssertDiagnostics(text, "MDL0327");
            Assert.Contains("lstm 'h' has no BF16 path: its matrix products are made by its GPU layer launcher in FP32; the rest of the model runs in bf16", d[0].Message);
            // The same model in fp32 says nothing.
            Assert.Empty(ModelDsl.Compilation.Compile("m.model", text.Replace("⟦", "").Replace("⟧", "").Replace("bf16", "fp32")).Diagnostics);
        }

        // A Bf16 session compiles the whole module with md_act = md_bf16, so every layer family must take its activations
        // as md_act: one written with float activation pointers would read BF16 bits as floats. Every family is held to it
        // here, by its .cuh text, the same test ActivationStorage uses.
        [Fact]
        public void Every_layer_family_takes_its_activations_as_md_act()
        {
            var families = System.Enum.GetValues<ModelDsl.Emit.Cuda.LayerFamily>();
            Assert.True(families.Length > 15, $"only {families.Length} layer families");
            var floatOnly = families.Where(f => !ModelDsl.Emit.Cuda.ActivationStorage.TakesActivations(f))
                .Select(f => ModelDsl.Emit.Cuda.CudaLayerLibrary.FileName(f)).ToList();
            Assert.True(floatOnly.Count == 0, "layer families with no md_act pointer: " + string.Join(", ", floatOnly));
        }

        // A bf16 model built from layer families as well as generated kernels stores its activations in BF16 and says
        // nothing beyond MDL0327 for the ops whose launcher makes its products.
        [Theory]
        [InlineData("f32[B, 8]", "h = x -> layer_norm -> dense(4)")]
        [InlineData("f32[B, 8]", "h = x -> softmax -> dense(4)")]
        [InlineData("f32[B, 5, 8]", "h = x -> ⟦gru(8)⟧ -> dense(4)")]
        [InlineData("f32[B, 1, 6, 6]", "h = x -> ⟦conv2d(2, 3)⟧ -> flatten -> dense(4)")]
        public void A_bf16_model_with_layer_families_stores_bf16_activations(string input, string line)
        {
            string text = $$"""
                model M {
                    input x: {{input}}
                    label y: f32[B, 4]
                    {{line}}
                    output h
                    loss mse(h, y)
                    optimizer adamw()
                    precision bf16
                }
                """;
            string[] expected = line.Contains('⟦') ? new[] { "MDL0327" } : System.Array.Empty<string>();
            AnnotatedText.AssertDiagnostics(text, expected);
            var cuda = ModelDsl.Compilation.Compile("m.model", text.Replace("⟦", "").Replace("⟧", "")).Compiled.Single().Cuda;
            Assert.NotNull(cuda);
            Assert.True(cuda!.Bf16Activations);
            Assert.Contains("md_act* __restrict__", cuda.Source); // the generated kernels take activations as md_act
        }
    }
}
