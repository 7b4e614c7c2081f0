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
            const string text = """
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
    }
}
