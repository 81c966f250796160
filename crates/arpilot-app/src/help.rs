//! Short definitions of the figures and charts, shown in place (the `?` beside a KPI or a chart's
//! heading) in French and English. They summarise docs/kpis.md, which gives the full rules.

use crate::locale::Lang;

/// The definition of the figure or chart `key` in `lang`, `None` for an unknown key.
pub fn definition(key: &str, lang: Lang) -> Option<&'static str> {
    let (en, fr) = match key {
        "balance" => (
            "What customers owe at the date: invoices minus credit notes, write-offs and payments, all dated on or before it (open invoices plus unapplied cash).",
            "Ce que les clients doivent à la date : factures moins avoirs, passages en perte et paiements datés de ce jour ou avant (factures ouvertes plus encaissements non lettrés).",
        ),
        "overdue" => (
            "Open amount of the invoices whose due date is before the date.",
            "Restant dû des factures dont l'échéance est passée à la date.",
        ),
        "dso_countback" => (
            "Count-back DSO: the days of the latest sales, month by month back from the date, that the balance represents.",
            "DSO par épuisement : le nombre de jours des dernières ventes, mois par mois en remontant depuis la date, que représente l'encours.",
        ),
        "dbt" => (
            "Days beyond terms: the days overdue of the open invoices, weighted by their open amounts (0 for those not due).",
            "Retard moyen (DBT) : les jours de retard des factures ouvertes, pondérés par leur restant dû (0 pour celles non échues).",
        ),
        "cei_month" => (
            "Collection effectiveness of the month: what was collected out of what could be (opening balance plus the month's sales, minus what is not due yet), in %.",
            "Efficacité du recouvrement du mois : ce qui a été encaissé sur ce qui pouvait l'être (encours d'ouverture plus ventes du mois, moins le non échu), en %.",
        ),
        "collection_rate" => (
            "Collected this month out of the invoices to collect this month (due by its end), net of their credit notes, in %.",
            "Encaissé ce mois sur les factures à recouvrer ce mois (échues d'ici sa fin), net de leurs avoirs, en %.",
        ),
        "overdue_accounts" => (
            "Number of customers with at least one overdue invoice.",
            "Nombre de clients ayant au moins une facture échue.",
        ),
        "customers_at_risk" => (
            "Customers with a balance for which at least one of these holds: rated D, over their credit limit, an invoice in legal collection, or a promise broken in the last 90 days.",
            "Clients ayant un encours pour lesquels au moins une de ces raisons vaut : cotés D, au-delà de leur limite de crédit, une facture au contentieux, ou une promesse non tenue dans les 90 derniers jours.",
        ),
        "at_risk_amount" => (
            "What the customers at risk owe: their open invoices.",
            "Ce que doivent les clients à risque : leurs factures ouvertes.",
        ),
        "paid_on_time_share" => (
            "Of the invoices due this month up to the date, the share settled on or before their due date (by count), in %.",
            "Parmi les factures échues ce mois jusqu'à la date, la part soldée au plus tard à l'échéance (en nombre), en %.",
        ),
        "average_age" => (
            "Average age of the open invoices since their issue, weighted by their open amounts, in days.",
            "Âge moyen des factures ouvertes depuis leur émission, pondéré par leur restant dû, en jours.",
        ),
        "to_apply" => (
            "Bank receipts not yet matched to a customer's invoices: they wait for a decision on the Cash page.",
            "Encaissements bancaires pas encore lettrés sur des factures : ils attendent une décision sur la page Lettrage.",
        ),
        "reminders" => (
            "Reminders sent over the last 30 days; activation: the share of customers reminded who paid within 30 days.",
            "Relances envoyées sur les 30 derniers jours ; activation : la part des clients relancés qui ont payé sous 30 jours.",
        ),
        "composition" => (
            "The balance split into not due, overdue and unapplied cash; disputed, in legal and promised amounts are parts of the open invoices.",
            "L'encours décomposé en non échu, échu et encaissements non lettrés ; litiges, contentieux et promesses sont des parts des factures ouvertes.",
        ),
        "aging" => (
            "Open invoices grouped by days overdue at the date, each bucket split by status: disputed, in legal, promised or other. Click a bar to list its customers.",
            "Factures ouvertes regroupées par jours de retard à la date, chaque tranche répartie par statut : litige, contentieux, promesse ou autre. Un clic sur une barre liste ses clients.",
        ),
        "dso_trend" => (
            "DSO at each of the last 12 month ends: count-back, standard (balance over 90 days of sales), best possible (not due only) and delinquent (the difference).",
            "DSO à chacune des 12 dernières fins de mois : par épuisement, standard (encours sur 90 jours de ventes), meilleur possible (non échu seul) et retard (la différence).",
        ),
        "cei_trend" => (
            "Collection effectiveness of each month (%) and the days beyond terms (days) at each month end.",
            "Efficacité du recouvrement de chaque mois (%) et retard moyen (jours) à chaque fin de mois.",
        ),
        "collection" => (
            "The invoices due by the end of the month: what there was to collect, collected, credited and still to collect.",
            "Les factures échues d'ici la fin du mois : ce qu'il y avait à recouvrer, encaissé, crédité par avoir et restant à recouvrer.",
        ),
        "top_debtors" => (
            "The customers with the largest balance, with their overdue amount.",
            "Les clients dont l'encours est le plus élevé, avec leur échu.",
        ),
        "top_overdue" => (
            "The overdue invoices with the largest open amounts.",
            "Les factures échues dont le restant dû est le plus élevé.",
        ),
        "maturity" => (
            "When the open invoices fall due: already overdue, the rest of the month, then month by month.",
            "Quand les factures ouvertes arrivent à échéance : déjà échu, le reste du mois, puis mois par mois.",
        ),
        "forecast" => (
            "Cash expected month by month from promises to pay, the usual resolution time of disputes and each customer's payment habits.",
            "Encaissements attendus mois par mois d'après les promesses de paiement, la durée habituelle des litiges et les habitudes de paiement de chaque client.",
        ),
        "forecast_accuracy" => (
            "Weighted absolute percentage error of the forecasts made at past month ends against the cash actually collected (lower is better).",
            "Erreur absolue pondérée des prévisions faites aux fins de mois passées par rapport aux encaissements réels (plus bas = mieux).",
        ),
        "cash_per_day" => (
            "Payments received on each day of the month to date.",
            "Paiements reçus chaque jour du mois jusqu'à la date.",
        ),
        "team" => (
            "Per collector (the customers' collector dimension): their customers' balance, overdue and collection of the month.",
            "Par chargé de recouvrement (dimension collector des clients) : l'encours, l'échu et le recouvrement du mois de ses clients.",
        ),
        "work" => (
            "The team's actions over the period and what followed them: contacts, promises, disputes, payments.",
            "Les actions de l'équipe sur la période et ce qui les a suivies : contacts, promesses, litiges, paiements.",
        ),
        "disputes" => (
            "Disputes open at the date, with their open amount; resolution rate and time over the last 90 days.",
            "Litiges ouverts à la date, avec leur restant dû ; taux et durée de résolution sur les 90 derniers jours.",
        ),
        "dispute_dso" => (
            "The part of the standard DSO due to disputes: standard DSO × disputed / balance.",
            "La part du DSO standard due aux litiges : DSO standard × litiges / encours.",
        ),
        "promises" => (
            "Promises to pay whose period contains the date; kept: the share of those due in the last 90 days that were paid in time.",
            "Promesses de paiement en cours à la date ; tenues : la part de celles arrivées à terme sur 90 jours qui ont été payées à temps.",
        ),
        "broken_promises" => (
            "Promises due in the last 90 days whose amount was not paid by their date.",
            "Promesses arrivées à terme sur les 90 derniers jours dont le montant n'a pas été payé à la date.",
        ),
        "payment_behaviour" => (
            "The customer's average days late over its invoices settled in the 90 days before each month end, and its rating (A best, D worst).",
            "Le retard moyen du client sur ses factures soldées dans les 90 jours précédant chaque fin de mois, et sa cotation (A la meilleure, D la moins bonne).",
        ),
        _ => return None,
    };
    Some(lang.t(en, fr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dashboard_key_is_defined_in_both_languages() {
        for k in crate::views::cards() {
            let (en, fr) = (definition(k, Lang::En), definition(k, Lang::Fr));
            assert!(en.is_some() && fr.is_some() && en != fr, "{k}");
        }
        assert_eq!(definition("nothing", Lang::En), None);
    }
}
