using System.Linq;
using ModelDsl.Dsl.Tests.Support;
using ModelDsl.IR;
using static ModelDsl.Dsl.Tests.Binding.NameDiagnosticTests;
using static ModelDsl.Dsl.Tests.Binding.TrainingControlTests;

namespace ModelDsl.Dsl.Tests.Binding
{
    /// <summary>
    /// <c>group name(lr=…, weight_decay=…) patterns</c>: parameter groups, how they bind and their diagnostics. The test
    /// model's parameters are h.0.weight, h.0.bias (dense), logits.weight, logits.bias; its optimizer is adam(lr=1e-3).
    /// </summary>
    public class GroupStatementTests
    {
        private static string[] Members(ParameterGroup group) => group.Members.OrderBy(n => n, System.StringComparer.Ordinal).ToArray();

        [Fact]
        public void A_group_binds_its_options_and_the_parameters_its_patterns_name()
        {
            var controls = Check(WithControls("    group no_decay(weight_decay=0) *.bias\n    group head(lr=0.01) logits.weight")).Controls;
            Assert.Equal(2, controls.Groups.Count);
            var noDecay = controls.Groups[0];
            Assert.Equal(("no_decay", (double?)null, (double?)0.0), (noDecay.Name, noDecay.LearningRate, noDecay.WeightDecay));
            Assert.Equal(new[] { "h.0.bias", "logits.bias" }, Members(noDecay));
            Assert.Equal("weight_decay=0", noDecay.Describe());
            var head = controls.Groups[1];
            Assert.Equal(((double?)0.01, (double?)null), (head.LearningRate, head.WeightDecay));
            Assert.Equal(new[] { "logits.weight" }, Members(head));
            Assert.Equal("lr=0.01", head.Describe());
            // Group indices as generated code numbers them: 0 for no group.
            var graph = Check(WithControls("    group no_decay(weight_decay=0) *.bias\n    group head(lr=0.01) logits.weight"));
            Assert.Equal(new[] { 1, 0, 1, 2 }, graph.Parameters.OrderBy(p => p.Name, System.StringComparer.Ordinal)
                .Select(p => graph.Controls.GroupIndex(p)).ToArray()); // h.0.bias, h.0.weight, logits.bias, logits.weight
        }

        [Fact]
        public void Patterns_are_freeze_s_layer_paths_and_globs_and_a_parameter_may_be_named_twice_by_one_group()
        {
            var group = Check(WithControls("    group g(lr=0.1, weight_decay=0.5) h.0, *.weight, h.0.bias")).Controls.Groups[0];
            Assert.Equal(new[] { "h.0.bias", "h.0.weight", "logits.weight" }, Members(group));
            Assert.Equal("lr=0.1, weight_decay=0.5", group.Describe());
        }

        [Fact]
        public void A_frozen_parameter_stays_frozen_and_is_not_a_member()
        {
            var controls = Check(WithControls("    freeze h.0\n    group no_decay(weight_decay=0) *.bias")).Controls;
            Assert.Equal(new[] { "logits.bias" }, Members(controls.Groups[0]));
            Assert.Contains("h.0.bias", controls.Frozen);
        }

        [Fact]
        public void The_word_group_is_not_reserved()
        {
            var graph = Check(WithControls("    group g(weight_decay=0) *.bias", "    group = x -> dense(hidden) -> relu\n    logits = group -> dense(classes)"));
            Assert.Equal(new[] { "group.0.bias", "logits.bias" }, Members(graph.Controls.Groups[0]));
        }

        [Fact]
        public void MDL0122_a_group_pattern_that_names_no_parameter()
        {
            var d = AnnotatedText.AssertDiagnostics(WithControls("    group g(weight_decay=0) *.bias, ⟦h.9⟧"), "MDL0122");
            Assert.Contains("group pattern 'h.9' matches no parameter of model 'M'", d[0].Message);
        }

        [Fact]
        public void MDL0220_a_parameter_in_two_groups_names_both_and_their_lines()
        {
            var d = AnnotatedText.AssertDiagnostics(WithControls("    group no_decay(weight_decay=0) *.bias\n    group head(lr=0.01) ⟦logits⟧"), "MDL0220");
            Assert.Contains("parameter 'logits.bias' is in group 'no_decay' (line 10) and in group 'head' (line 11); a parameter belongs to one group", d[0].Message);
        }

        [Fact]
        public void MDL0108_group_values_out_of_range()
        {
            var d = AnnotatedText.AssertDiagnostics(WithControls("    group g(weight_decay=⟦-0.1⟧) *.bias"), "MDL0108");
            Assert.Contains("weight_decay", d[0].Message);
            AnnotatedText.AssertDiagnostics(WithControls("    group g(lr=⟦-1⟧) *.bias"), "MDL0108");
            AnnotatedText.AssertDiagnostics(WithControls("    group g(lr=0.1, ⟦lr⟧=0.2) *.bias"), "MDL0106");
        }

        [Fact]
        public void MDL0124_an_option_the_optimizer_does_not_have()
        {
            string text = WithControls("    group g(⟦momentum⟧=0.9) *.bias").Replace("adam(lr=1e-3)", "adamw(lr=1e-3)");
            var d = AnnotatedText.AssertDiagnostics(text, "MDL0124");
            Assert.Contains("group g: momentum is not an option of adamw (adamw takes lr, betas, eps, weight_decay); a group sets lr and weight_decay", d[0].Message);
        }

        [Fact]
        public void MDL0124_an_optimizer_option_a_group_cannot_set()
        {
            var d = AnnotatedText.AssertDiagnostics(WithControls("    group g(lr=0.1, ⟦eps⟧=1e-6) *.bias"), "MDL0124");
            Assert.Contains("group g: eps is adam's for every parameter: a group sets only lr and weight_decay", d[0].Message);
        }

        [Fact]
        public void MDL0124_a_group_without_options_and_a_group_lr_beside_an_optimizer_lr_of_0()
        {
            var d = AnnotatedText.AssertDiagnostics(WithControls("    group ⟦g()⟧ *.bias"), "MDL0124");
            Assert.Contains("group g: without options would train its parameters exactly as the others", d[0].Message);
            d = AnnotatedText.AssertDiagnostics(WithControls("    group g(lr=⟦0.1⟧) *.bias").Replace("adam(lr=1e-3)", "adam(lr=0)"), "MDL0124");
            Assert.Contains("lr scales with the model's LearningRate in proportion to adam's lr, which is 0 here", d[0].Message);
        }

        [Fact]
        public void MDL0221_a_group_whose_parameters_are_all_frozen()
        {
            var d = AnnotatedText.AssertDiagnostics(WithControls("    freeze h.0\n    group ⟦early⟧(lr=0.1) h.0.weight"), "MDL0221");
            Assert.Contains("every parameter of group 'early' is frozen (freeze on line 10), so its options change nothing", d[0].Message);
        }

        [Fact]
        public void A_group_name_given_twice_is_MDL0204()
        {
            var d = AnnotatedText.AssertDiagnostics(WithControls("    group g(lr=0.1) h.0\n    group ⟦g⟧(weight_decay=0) logits"), "MDL0204");
            Assert.Contains("only one group named 'g' is allowed; the first is on line 10", d[0].Message);
        }

        [Fact]
        public void A_group_in_a_block_is_MDL0210_and_without_an_optimizer_MDL0215()
        {
            var d = AnnotatedText.AssertDiagnostics("block Bad(x) {\n    ⟦group g(lr=0.1) *.bias⟧\n    return x\n}\n" + Model("    logits = x -> Bad -> dense(classes)"), "MDL0210");
            Assert.Contains("'group' is not allowed in a block", d[0].Message);
            string text = WithControls("    ⟦group⟧ g(lr=0.1) *.bias").Replace("    optimizer adam(lr=1e-3)\n", "").Replace("model M {", "model ⟦M⟧ {");
            d = AnnotatedText.AssertDiagnostics(text, "MDL0203", "MDL0215");
            Assert.Contains("group: the model has no optimizer", d[1].Message);
        }

        [Fact]
        public void Every_error_of_several_groups_is_reported_in_one_pass()
        {
            AnnotatedText.AssertDiagnostics(
                WithControls("    group a(weight_decay=⟦-1⟧) *.bias\n    group b(⟦nesterov⟧=true) *.weight\n    group c(lr=0.1) ⟦nothing⟧"),
                "MDL0108", "MDL0124", "MDL0122");
        }

        [Fact]
        public void A_syntax_error_in_a_group_lands_on_the_bad_token()
        {
            AnnotatedText.AssertDiagnostics(WithControls("    group g(lr=0.1) *.bias, ⟦(⟧"), "MDL0001");
        }
    }
}
