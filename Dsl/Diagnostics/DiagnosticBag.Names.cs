using System.Collections.Generic;
using System.Globalization;
using ModelDsl.Text;

namespace ModelDsl.Diagnostics
{
    // MDL01xx: names, calls and arguments. Message text for these IDs lives only here.
    public sealed partial class DiagnosticBag
    {
        private static string Num(long v) => v.ToString(CultureInfo.InvariantCulture);
        private static string Grouped(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
        private static string Num(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        private static string DidYouMean(string? suggestion) => suggestion is null ? "" : $"; did you mean '{suggestion}'?";

        public void ReportUndefinedName(TextSpan span, string name, string? suggestion) =>
            Report(DiagnosticCatalog.UndefinedName, span, $"'{name}' is not defined{DidYouMean(suggestion)}");

        public void ReportLayerUsedAsValue(TextSpan span, string name) =>
            Report(DiagnosticCatalog.UndefinedName, span, $"'{name}' is a layer or block, not a value; apply it in a chain ('x -> {name}') or call it with its input ('{name}(x)')");

        public void ReportUsedBeforeDefinition(TextSpan span, string name, int line) =>
            Report(DiagnosticCatalog.UndefinedName, span, $"'{name}' is used before its definition on line {line}; define it earlier");

        public void ReportDuplicateName(TextSpan span, string name, int firstLine) =>
            Report(DiagnosticCatalog.DuplicateName, span, $"'{name}' is already defined on line {firstLine}; choose another name");

        public void ReportUnknownLayer(TextSpan span, string name, string? suggestion) =>
            Report(DiagnosticCatalog.UnknownLayer, span, $"'{name}' is not a layer or block{DidYouMean(suggestion)}");

        public void ReportNotALayer(TextSpan span, string name, string kind) =>
            Report(DiagnosticCatalog.UnknownLayer, span, $"'{name}' is {kind}, not a layer or block, so it cannot be a chain stage");

        public void ReportUnknownArgument(TextSpan span, string callee, string name, IEnumerable<string> valid)
        {
            // An op whose only parameters are its tensor inputs (relu, the losses) has nothing to list: say so
            // rather than end the message with an empty "it takes:".
            string list = string.Join(", ", valid);
            string takes = list.Length == 0 ? $"{callee} takes no named arguments" : "it takes: " + list;
            Report(DiagnosticCatalog.UnknownArgument, span, $"{callee} has no argument named '{name}'; {takes}");
        }

        public void ReportMissingArgument(TextSpan span, string callee, string name) =>
            Report(DiagnosticCatalog.MissingArgument, span, $"{callee} requires the argument '{name}'");

        public void ReportTooManyArguments(TextSpan span, string callee, int max) =>
            Report(DiagnosticCatalog.TooManyArguments, span, $"{callee} takes at most {max} positional argument(s); remove this one or name it");

        public void ReportDuplicateArgument(TextSpan span, string callee, string name) =>
            Report(DiagnosticCatalog.DuplicateArgument, span, $"{callee}: argument '{name}' is given more than once");

        public void ReportArgumentType(TextSpan span, string callee, string name, string expected, string actual) =>
            Report(DiagnosticCatalog.ArgumentType, span, $"{callee} expects {expected} for '{name}', but got {actual}");

        public void ReportOperatorType(TextSpan span, string op, string left, string right) =>
            Report(DiagnosticCatalog.ArgumentType, span, $"'{op}' needs two tensors or two numbers, but got {left} and {right}");

        public void ReportRepeatNotInChain(TextSpan span) =>
            Report(DiagnosticCatalog.ArgumentType, span, "'repeat' can only be a stage of a chain: write 'x -> repeat N Stage(...)'");

        public void ReportArgumentOutOfRange(TextSpan span, string callee, string name, double value, string range) =>
            Report(DiagnosticCatalog.ArgumentOutOfRange, span, $"{callee} expects '{name}' {range}, but it is {Num(value)}");

        public void ReportOverflow(TextSpan span, string expression) =>
            Report(DiagnosticCatalog.ArgumentOutOfRange, span, $"'{expression}' is out of range: the result does not fit in 64 bits or is not finite");

        public void ReportRecursiveBlock(TextSpan span, IEnumerable<string> cycle) =>
            Report(DiagnosticCatalog.RecursiveBlock, span, $"block uses itself: {string.Join(" -> ", cycle)}; a block may use other blocks but not itself");

        public void ReportInvalidRepeatCount(TextSpan span, string count) =>
            Report(DiagnosticCatalog.InvalidRepeatCount, span, $"repeat count must be an integer constant from 1 to 1024, but it is {count}");

        public void ReportUnusedValue(TextSpan span, string name) =>
            Report(DiagnosticCatalog.UnusedValue, span, $"'{name}' is computed but never used");

        public void ReportModelTooLarge(TextSpan span, string model, int limit) =>
            Report(DiagnosticCatalog.ModelTooLarge, span, $"model '{model}' expands to more than {Num(limit)} operations; reduce repeat counts or block nesting");

        public void ReportExpansionTooDeep(TextSpan span, int limit) =>
            Report(DiagnosticCatalog.ModelTooLarge, span, $"blocks or expressions nest deeper than {Num(limit)} levels");

        public void ReportBuildTooLarge(TextSpan span, string model, int ops, int limit, long repeatCount) =>
            Report(DiagnosticCatalog.BuildTooLarge, span,
                $"model '{model}' unrolls to {Grouped(ops)} ops, more than the {Grouped(limit)} that code generation takes: its generated code would be about " +
                $"{Grouped(ops * 85L / 10000)} MB and take the C# compiler minutes{(repeatCount > 0 ? $"; this repeat ({Num(repeatCount)}×) is the largest part" : "")}; reduce repeat counts or depth");

        public void ReportSuspiciousSymbolicDimension(TextSpan span, string name, string constant) =>
            Report(DiagnosticCatalog.SuspiciousSymbolicDimension, span, $"'{name}' is treated as a symbolic dimension; did you mean the config constant '{constant}'?");

        public void ReportNotConstant(TextSpan span, string callee, string name, string actual) =>
            Report(DiagnosticCatalog.NotConstant, span, $"{callee} needs a constant for '{name}', but got {actual}");

        public void ReportBlockArgumentNotConstant(TextSpan span, string block, string name, string actual) =>
            Report(DiagnosticCatalog.NotConstant, span,
                $"{block} needs a constant for '{name}', but got {actual}; a block takes a tensor in a parameter declared with its type ('{name}: i32[B, T]')");

        public void ReportTensorArithmetic(TextSpan span, string op) =>
            Report(DiagnosticCatalog.NotConstant, span, $"'{op}' applies to constants only; for tensors use '+' (add) or '*' (mul)");

        public void ReportUnknownParameter(TextSpan span, string layer, string member, IEnumerable<string> available) =>
            Report(DiagnosticCatalog.UnknownParameter, span, $"'{layer}' has no parameter '{member}'; it has: {Join(available)}");

        public void ReportNotALayerValue(TextSpan span, string name) =>
            Report(DiagnosticCatalog.UnknownParameter, span, $"'{name}' is not a layer with parameters, so '{name}.…' names nothing to tie to");

        public void ReportDivisionByZero(TextSpan span, string expression) =>
            Report(DiagnosticCatalog.DivisionByZero, span, $"'{expression}' divides by zero");

        /// <summary>A diagnostic raised while expanding a block, re-reported with the use it came from.</summary>
        public void ReportFromBlockUse(Diagnostic inner, string block, int useLine) =>
            Report(inner.Descriptor, inner.Span, $"{inner.Message} (in block {block} used on line {useLine})");

        private static string Join(IEnumerable<string> names)
        {
            string s = string.Join(", ", names);
            return s.Length == 0 ? "(none)" : s;
        }
    }
}
