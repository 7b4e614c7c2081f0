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
                Head + "model M {\n    input x: f32[B, 784]\n    label y: i32[B]\n    logits = x -> dense(classes) -> relu(⟦alpha⟧=0.1)\n" +
                "    output logits\n    loss cross_entropy(logits, y, ⟦label_smoothing⟧=0.1)\n    optimizer adam(lr=1e-3)\n}",
                "MDL0103", "MDL0103");
            Assert.EndsWith("relu has no argument named 'alpha'; relu takes no named arguments", d[0].Message.Split(" (")[0]);
            Assert.Contains("cross_entropy has no argument named 'label_smoothing'; cross_entropy takes no named arguments", d[1].Message);
            Assert.DoesNotContain("it takes:", d[1].Message);
        }

        /// <summary>The user's file from issue 15: six independent mistakes, all reported in the first build.</summary>
        [Fact]
        public void Six_independent_mistakes_are_all_reported_in_one_pass()
        {
            AnnotatedText.AssertDiagnostics(
                Head + "model M {\n    input x: f32[B, 784]\n    label y: f32[B]\n" +
                "    h = x -> dense(⟦hiden⟧) -> dense(10, ⟦use_bias⟧=false)\n" +
                "    g = h -> relu -> dropout(⟦1.5⟧)\n" +
                "    logits = g -> ⟦softmaks⟧\n" +
                "    output logits\n" +
                "    loss cross_entropy(logits, ⟦y⟧, ⟦label_smoothing⟧=0.1)\n" +
                "    optimizer adam(lr=1e-3)\n}",
                "MDL0100", "MDL0103", "MDL0108", "MDL0102", "MDL0303", "MDL0103");
        }
    }
}
