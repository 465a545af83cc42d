import ProxyWasmTestSupport
import Testing

/// The template renderer every golden comparison goes through, on the
/// constructs Istio's expected-metric files use.
@Suite struct GoTemplateTests {
    let template = """
        a: {{ .Vars.A }}
        {{- if .Vars.Class }}
        code: {{ .Vars.Class }}
        {{- else if .Vars.Code }}
        code: "{{ .Vars.Code }}"
        {{- else }}
        code: "200"
        {{- end }}
        port: {{ .Ports.ClientPort }}
        """

    @Test func substitutesVariablesAndPorts() {
        #expect(GoTemplate.render("x {{ .Vars.A }} {{ .Ports.P }} y", variables: ["A": "1", "P": "2"]) == "x 1 2 y")
    }

    @Test func anUnsetVariableSubstitutesAsNothing() {
        #expect(GoTemplate.render("x={{ .Vars.Missing }};", variables: [:]) == "x=;")
    }

    @Test func theFirstBranchWhoseVariableIsSetIsEmitted() {
        #expect(GoTemplate.render(template, variables: ["A": "a", "Class": "2xx", "Code": "201"]) == "a: a\ncode: 2xx\nport: ")
        #expect(GoTemplate.render(template, variables: ["A": "a", "Code": "201", "ClientPort": "9"]) == "a: a\ncode: \"201\"\nport: 9")
        #expect(GoTemplate.render(template, variables: ["A": "a", "Class": ""]) == "a: a\ncode: \"200\"\nport: ")
    }

    @Test func nestedConditionsNeedEveryEnclosingBranch() {
        let nested = """
            {{- if .Vars.Outer }}
            outer
            {{- if .Vars.Inner }}
            inner
            {{- else }}
            not inner
            {{- end }}
            {{- end }}
            after
            """
        #expect(GoTemplate.render(nested, variables: ["Outer": "1", "Inner": "1"]) == "outer\ninner\nafter")
        #expect(GoTemplate.render(nested, variables: ["Outer": "1"]) == "outer\nnot inner\nafter")
        #expect(GoTemplate.render(nested, variables: ["Inner": "1"]) == "after")
    }

    @Test func istiosServerRequestTotalTakesTheResponseCodeBranch() {
        let lines = IstioTestdata.expectedLines(
            "server_request_total.yaml.tmpl", vars: ["RequestCount": "3", "ResponseCode": "404", "GrpcResponseStatus": ""])
        #expect(lines.count == 1)
        #expect(lines[0].contains("response_code=\"404\""))
        #expect(lines[0].hasSuffix(" 3"))
    }
}
