using ModelDsl.Dsl.Tests.Support;
using static ModelDsl.Dsl.Tests.Binding.NameDiagnosticTests;

namespace ModelDsl.Dsl.Tests.Binding
{
    /// <summary>
    /// A failed value poisons only the checks that need its shape or type (issue 15): argument names, constant
    /// arguments, label dtypes and everything else that does not depend on it are still checked in the same pass.
    /// </summary>
    public class OnePassTests
    {
        [Fact]
        public void An_unknown_argument_downstream_of_an_undefined_name_is_reported()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> dense(⟦hiden⟧) -> dense(10, ⟦use_bias⟧=false)"), "MDL0100", "MDL0103");
            Assert.Contains("'hiden' is not defined", d[0].Message);
            Assert.Contains("dense has no argument named 'use_bias'", d[1].Message);
        }

        [Fact]
        public void A_constant_argument_out_of_range_downstream_of_an_error_is_reported()
        {
            AnnotatedText.AssertDiagnostics(Model("    logits = x -> dense(⟦hiden⟧) -> dropout(⟦2.0⟧) -> dense(classes)"), "MDL0100", "MDL0108");
        }

        [Fact]
        public void A_misnamed_block_argument_downstream_of_an_error_is_reported()
        {
            AnnotatedText.AssertDiagnostics("block Mlp(x, width = 32) { return x -> dense(width) -> relu }\n" +
                Model("    logits = x -> dense(⟦hiden⟧) -> Mlp(⟦widht⟧=32) -> dense(classes)"), "MDL0100", "MDL0103");
        }

        [Fact]
        public void An_f32_label_given_to_cross_entropy_is_reported_while_the_logits_have_an_error()
        {
            AnnotatedText.AssertDiagnostics(
                Head + "model M {\n    input x: f32[B, 784]\n    label y: f32[B]\n    logits = x -> dense(⟦hiden⟧)\n" +
                "    output logits\n    loss cross_entropy(logits, ⟦y⟧)\n    optimizer adam(lr=1e-3)\n}",
                "MDL0100", "MDL0303");
        }

        [Fact]
        public void A_wrong_prediction_dtype_is_reported_while_the_label_has_an_error()
        {
            AnnotatedText.AssertDiagnostics(
                Head + "model M {\n    input x: i32[B, 784]\n    label y: i32[B]\n    logits = x\n" +
                "    output logits\n    loss cross_entropy(⟦logits⟧, ⟦z⟧)\n    optimizer adam(lr=1e-3)\n}",
                "MDL0303", "MDL0100");
        }

        [Fact]
        public void An_op_without_named_arguments_says_so_instead_of_an_empty_list()
        {
            var d = AnnotatedText.AssertDiagnostics(
                Head + "model M {\n    input x: f32[B, 784]\n    label y: f32[B, 10]\n    logits = x -> dense(classes) -> relu(⟦alpha⟧=0.1)\n" +
                "    output logits\n    loss mse(logits, y, ⟦label_smoothing⟧=0.1)\n    optimizer adam(lr=1e-3)\n}",
                "MDL0103", "MDL0103");
            Assert.EndsWith("relu has no argument named 'alpha'; relu takes no named arguments", d[0].Message.Split(" (")[0]);
            Assert.Contains("mse has no argument named 'label_smoothing'; mse takes no named arguments", d[1].Message);
            Assert.DoesNotContain("it takes:", d[1].Message);
        }

        /// <summary>Each loss has its own signature: an unknown argument lists that loss's real options.</summary>
        [Theory]
        [InlineData("cross_entropy", "i32[B]", "smoothing", "cross_entropy has no argument named 'smoothing'; it takes: label_smoothing")]
        [InlineData("bce_with_logits", "f32[B, 10]", "label_smoothing", "bce_with_logits has no argument named 'label_smoothing'; bce_with_logits takes no named arguments")]
        [InlineData("mse", "f32[B, 10]", "reduction", "mse has no argument named 'reduction'; mse takes no named arguments")]
        public void An_unknown_loss_argument_lists_the_losss_own_options(string loss, string label, string argument, string message)
        {
            var d = AnnotatedText.AssertDiagnostics(
                Head + $"model M {{\n    input x: f32[B, 784]\n    label y: {label}\n    logits = x -> dense(classes)\n" +
                $"    output logits\n    loss {loss}(logits, y, ⟦{argument}⟧=0.1)\n    optimizer adam(lr=1e-3)\n}}",
                "MDL0103");
            Assert.Equal(message, d[0].Message.Split(" (")[0]);
        }

        [Theory]
        [InlineData("label_smoothing=⟦1.5⟧", "cross_entropy expects 'label_smoothing' in [0, 1], but it is 1.5")]
        [InlineData("label_smoothing=⟦-0.1⟧", "cross_entropy expects 'label_smoothing' in [0, 1], but it is -0.1")]
        public void Label_smoothing_outside_zero_one_is_reported_at_the_value(string argument, string message)
        {
            var d = AnnotatedText.AssertDiagnostics(
                Head + $"model M {{\n    input x: f32[B, 784]\n    label y: i32[B]\n    logits = x -> dense(classes)\n" +
                $"    output logits\n    loss cross_entropy(logits, y, {argument})\n    optimizer adam(lr=1e-3)\n}}",
                "MDL0108");
            Assert.Equal(message, d[0].Message.Split(" (")[0]);
        }

        /// <summary>
        /// The user's file from issue 15: six independent mistakes at the time, all reported in the first build. Its
        /// <c>label_smoothing=0.1</c> has since become a real option of cross_entropy, so five remain.
        /// </summary>
        [Fact]
        public void Independent_mistakes_are_all_reported_in_one_pass()
        {
            AnnotatedText.AssertDiagnostics(
                Head + "model M {\n    input x: f32[B, 784]\n    label y: f32[B]\n" +
                "    h = x -> dense(⟦hiden⟧) -> dense(10, ⟦use_bias⟧=false)\n" +
                "    g = h -> relu -> dropout(⟦1.5⟧)\n" +
                "    logits = g -> ⟦softmaks⟧\n" +
                "    output logits\n" +
                "    loss cross_entropy(logits, ⟦y⟧, label_smoothing=0.1)\n" +
                "    optimizer adam(lr=1e-3)\n}",
                "MDL0100", "MDL0103", "MDL0108", "MDL0102", "MDL0303");
        }
    }
}
