// Connects with pgjdbc to each JDBC URL read from standard input, one per line, and prints one
// JSON line per URL: {"ok":true,"ssl":BOOL} or {"ok":false,"error":"..."}. One JVM for all URLs.
// Run: java -cp /usr/share/java/postgresql.jar tests/drivers/PgjdbcProbe.java

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;

public class PgjdbcProbe {
    static String json(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }

    public static void main(String[] args) throws Exception {
        DriverManager.setLoginTimeout(5);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        String url;
        while ((url = in.readLine()) != null) {
            String line;
            try (Connection c = DriverManager.getConnection(url);
                 Statement s = c.createStatement();
                 ResultSet r = s.executeQuery(
                     "select ssl from pg_stat_ssl where pid = pg_backend_pid()")) {
                r.next();
                line = "{\"ok\":true,\"ssl\":" + r.getBoolean(1) + "}";
            } catch (Exception e) {
                StringBuilder m = new StringBuilder(String.valueOf(e.getMessage()));
                for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
                    m.append(" | ").append(t.getClass().getName()).append(": ").append(t.getMessage());
                }
                line = "{\"ok\":false,\"error\":" + json(m.toString()) + "}";
            }
            System.out.println(line);
            System.out.flush();
        }
    }
}
